import type { ComparisonExpression, Literal, ObservationExpression } from '../stix/index.ts';
import { parseNetwork } from '../stix/index.ts';
import { normaliseDomain, normaliseHashAlgorithm, normaliseUrl } from './normalise.ts';

/**
 * Which indicators the index can serve without the matcher: a single observation expression without
 * qualifiers whose comparisons, joined only by OR, are `=`/IN on ipv4-addr/ipv6-addr/domain-name/url
 * values or file hashes, or ISSUBSET on an IP value. Anything else goes to the pattern matcher.
 */

export type AtomicKey =
  | { kind: 'ip'; family: 4 | 6; address: bigint; prefix: number }
  | { kind: 'domain'; value: string }
  | { kind: 'url'; value: string }
  | { kind: 'hash'; algorithm: string; value: string };

function keysOfComparison(root: ComparisonExpression, out: AtomicKey[]): boolean {
  // Iterative over OR chains: an IOC list can be thousands of ORs long.
  const stack: ComparisonExpression[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as ComparisonExpression;
    if (node.kind === 'comparison-or') stack.push(node.right, node.left);
    else if (!keysOfAtomicComparison(node, out)) return false;
  }
  return true;
}

function keysOfAtomicComparison(expression: ComparisonExpression, out: AtomicKey[]): boolean {
  if (expression.kind !== 'comparison' || expression.negated) return false;
  const { path, operator } = expression;
  const literals: Literal[] = operator === 'IN' ? (expression.value as Literal[]) : expression.value ? [expression.value as Literal] : [];
  if (literals.length === 0 || literals.some((l) => l.kind !== 'string')) return false;
  const values = literals.map((l) => (l as Literal & { kind: 'string' }).value);
  const steps = path.steps;
  const propertyNames = steps.map((s) => (s.kind === 'property' ? s.name : undefined));
  if (steps.some((s) => s.kind !== 'property')) return false;
  const type = path.objectType;
  if ((type === 'ipv4-addr' || type === 'ipv6-addr') && propertyNames.length === 1 && propertyNames[0] === 'value') {
    if (operator !== '=' && operator !== 'IN' && operator !== 'ISSUBSET') return false;
    for (const v of values) {
      const network = parseNetwork(v);
      if (!network || network.family !== (type === 'ipv4-addr' ? 4 : 6)) return false;
      // `=` with a CIDR literal is string equality in STIX, not containment: only plain addresses are atomic.
      if (operator !== 'ISSUBSET' && v.includes('/')) return false;
      out.push({ kind: 'ip', family: network.family, address: network.address, prefix: network.prefix });
    }
    return true;
  }
  if (operator !== '=' && operator !== 'IN') return false;
  if (type === 'domain-name' && propertyNames.length === 1 && propertyNames[0] === 'value') {
    for (const v of values) out.push({ kind: 'domain', value: normaliseDomain(v) });
    return true;
  }
  if (type === 'url' && propertyNames.length === 1 && propertyNames[0] === 'value') {
    for (const v of values) {
      const url = normaliseUrl(v);
      if (url === undefined) return false;
      out.push({ kind: 'url', value: url });
    }
    return true;
  }
  if (type === 'file' && propertyNames.length === 2 && propertyNames[0] === 'hashes') {
    const algorithm = normaliseHashAlgorithm(propertyNames[1] as string);
    for (const v of values) out.push({ kind: 'hash', algorithm, value: v.toLowerCase() });
    return true;
  }
  return false;
}

/** The atomic keys an indicator's pattern is exactly equivalent to, or undefined when it is not atomic. */
export function extractAtomicKeys(ast: ObservationExpression): AtomicKey[] | undefined {
  if (ast.kind !== 'observation') return undefined;
  const keys: AtomicKey[] = [];
  return keysOfComparison(ast.comparison, keys) ? keys : undefined;
}
