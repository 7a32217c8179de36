import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Uint32SlotTable } from './uint32-slot-table.ts';

test('behaves like a Map of key → slots through growth, collisions and shared keys', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.nat({ max: 40 }).map((k) => (k * 0x10000000) >>> 0 || k),
          fc.nat({ max: 1_000_000 }),
        ),
        { maxLength: 300 },
      ),
      (entries) => {
        const table = new Uint32SlotTable(4);
        const oracle = new Map<number, number[]>();
        for (const [key, slot] of entries) {
          table.add(key, slot);
          oracle.set(key, [...(oracle.get(key) ?? []), slot]);
        }
        assert.equal(table.size, oracle.size);
        for (const [key, slots] of oracle) {
          const seen: number[] = [];
          table.forEach(key, (s) => seen.push(s));
          assert.deepEqual(seen, slots);
        }
        const missing: number[] = [];
        table.forEach(0xfffffff1, (s) => missing.push(s));
        assert.deepEqual(missing, oracle.has(0xfffffff1) ? oracle.get(0xfffffff1) : []);
      },
    ),
    { numRuns: 300 },
  );
});

test('full 32-bit range keys, including 0 and 2^32-1', () => {
  const table = new Uint32SlotTable();
  table.add(0, 7);
  table.add(0xffffffff, 8);
  const seen: number[] = [];
  table.forEach(0, (s) => seen.push(s));
  table.forEach(0xffffffff, (s) => seen.push(s));
  assert.deepEqual(seen, [7, 8]);
});
