/**
 * An open-addressing hash table from 32-bit unsigned keys (IPv4 networks) to indicator slots, in typed
 * arrays: no per-entry objects, no boxed numbers (IPv4 values above 2^30 would be heap numbers as Map keys),
 * so a million addresses cost ~12 MB and a probe is a multiply, a shift and an array read.
 * A key held by several indicators points at an overflow list (stored value < 0).
 */
export class Uint32SlotTable {
  private keys: Uint32Array;
  /** slot + 1 for one indicator, -(overflow index + 1) for several; 0 means empty. */
  private values: Int32Array;
  private readonly overflow: number[][] = [];
  private mask: number;
  private shift: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.keys = new Uint32Array(capacity);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
  }

  get size(): number {
    return this.count;
  }

  private indexOf(key: number): number {
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const v = this.values[i] as number;
      if (v === 0 || this.keys[i] === key) return i;
      i = (i + 1) & this.mask;
    }
  }

  add(key: number, slot: number): void {
    if ((this.count + 1) * 4 > this.keys.length * 3) this.resize();
    const i = this.indexOf(key);
    const v = this.values[i] as number;
    if (v === 0) {
      this.keys[i] = key;
      this.values[i] = slot + 1;
      this.count++;
    } else if (v > 0) {
      this.overflow.push([v - 1, slot]);
      this.values[i] = -this.overflow.length;
    } else {
      (this.overflow[-v - 1] as number[]).push(slot);
    }
  }

  forEach(key: number, visit: (slot: number) => void): void {
    const v = this.values[this.indexOf(key)] as number;
    if (v > 0) visit(v - 1);
    else if (v < 0) for (const slot of this.overflow[-v - 1] as number[]) visit(slot);
  }

  /** The slot for a key held by one indicator, -1 when none, -2 when several (then use `slots`). */
  first(key: number): number {
    const v = this.values[this.indexOf(key)] as number;
    return v > 0 ? v - 1 : v === 0 ? -1 : -2;
  }

  slots(key: number): number[] {
    const v = this.values[this.indexOf(key)] as number;
    return v > 0 ? [v - 1] : v === 0 ? [] : (this.overflow[-v - 1] as number[]);
  }

  private resize(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const capacity = oldKeys.length * 2;
    this.keys = new Uint32Array(capacity);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    for (let j = 0; j < oldKeys.length; j++) {
      const v = oldValues[j] as number;
      if (v === 0) continue;
      const i = this.indexOf(oldKeys[j] as number);
      this.keys[i] = oldKeys[j] as number;
      this.values[i] = v;
    }
  }
}
