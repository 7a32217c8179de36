/**
 * RFC 8785 JSON Canonicalization Scheme: one byte sequence per JSON value, so a hash over it is the
 * same wherever it is computed (the audit chain depends on this). ECMAScript's JSON.stringify already
 * serialises strings and numbers as RFC 8785 requires; what remains is sorting object keys by UTF-16
 * code units and refusing values JSON cannot represent.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot represent ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      // Plain loops and string appends: this runs for every audit record, and the map/filter/join version
      // allocated an array per level.
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          out += i === 0 ? canonicalJson(item === undefined ? null : item) : `,${canonicalJson(item === undefined ? null : item)}`;
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is exactly the order RFC 8785 §3.2.3 asks for.
      const keys = Object.keys(record).sort();
      let out = '{';
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue;
        out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}
