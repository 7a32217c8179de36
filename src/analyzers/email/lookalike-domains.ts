import { domainToUnicode } from 'node:url';
import { getDomain, getDomainWithoutSuffix, getPublicSuffix } from 'tldts';

/**
 * Lookalike domains: a domain that is not a protected one but reads like it — the same UTS #39 skeleton
 * (Cyrillic "а" for Latin "a", "rn" for "m"), a punycode label that decodes to such a thing, a label one
 * or two edits away, the same label under another suffix, or the protected name worn as a subdomain.
 *
 * The confusables table is a compact subset of Unicode's confusables.txt (UTS #39, Unicode Security
 * Mechanisms, https://www.unicode.org/Public/security/latest/confusables.txt, Unicode License v3): the
 * Latin, Cyrillic, Greek, Armenian, digit and fullwidth prototypes that appear in real domain spoofing.
 * Targets are lower-cased because domain names compare case-insensitively.
 */
const CONFUSABLE_PAIRS: Array<[string, string]> = [
  // Cyrillic
  ['а', 'a'],
  ['в', 'b'],
  ['Ь', 'b'],
  ['с', 'c'],
  ['ԁ', 'd'],
  ['е', 'e'],
  ['ё', 'e'],
  ['һ', 'h'],
  ['і', 'i'],
  ['ї', 'i'],
  ['ј', 'j'],
  ['к', 'k'],
  ['ӏ', 'l'],
  ['м', 'm'],
  ['н', 'h'],
  ['о', 'o'],
  ['р', 'p'],
  ['ԛ', 'q'],
  ['г', 'r'],
  ['ѕ', 's'],
  ['т', 't'],
  ['ц', 'u'],
  ['ѵ', 'v'],
  ['ԝ', 'w'],
  ['х', 'x'],
  ['у', 'y'],
  ['ү', 'y'],
  ['ᴢ', 'z'],
  // Greek
  ['α', 'a'],
  ['β', 'b'],
  ['ε', 'e'],
  ['η', 'n'],
  ['ι', 'i'],
  ['κ', 'k'],
  ['ν', 'v'],
  ['ο', 'o'],
  ['ρ', 'p'],
  ['τ', 't'],
  ['υ', 'u'],
  ['χ', 'x'],
  ['γ', 'y'],
  ['ω', 'w'],
  // Armenian
  ['օ', 'o'],
  ['ս', 'u'],
  ['ց', 'g'],
  ['հ', 'h'],
  ['ո', 'n'],
  // Latin look-alikes and digits (confusables.txt maps 0→O, 1→l, 5→S)
  ['ı', 'i'],
  ['ɩ', 'i'],
  ['ł', 'l'],
  ['ǀ', 'l'],
  ['1', 'l'],
  ['|', 'l'],
  ['0', 'o'],
  ['ø', 'o'],
  ['5', 's'],
  ['ɡ', 'g'],
  ['ƅ', 'b'],
  ['ꮃ', 'w'],
  ['ʋ', 'v'],
  ['ᴠ', 'v'],
  ['ℓ', 'l'],
  ['‐', '-'],
  ['‑', '-'],
  ['‒', '-'],
  ['–', '-'],
  ['−', '-'],
];
/** Multi-letter confusables from the same table (matched before single characters). */
const CONFUSABLE_SEQUENCES: Array<[string, string]> = [
  ['rn', 'm'],
  ['vv', 'w'],
  ['cl', 'd'],
];

const CONFUSABLES = new Map(CONFUSABLE_PAIRS);

/** UTS #39 skeleton, simplified: NFKD, drop combining marks, map confusables to prototypes, lower case. */
export function skeleton(text: string): string {
  const decomposed = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  let mapped = '';
  for (const ch of decomposed) mapped += CONFUSABLES.get(ch) ?? ch;
  for (const [sequence, prototype] of CONFUSABLE_SEQUENCES) mapped = mapped.split(sequence).join(prototype);
  return mapped;
}

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent swaps), stopping early past `max`. */
export function editDistance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    let rowMin = Number.POSITIVE_INFINITY;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((d[i - 1]?.[j] ?? 0) + 1, (d[i]?.[j - 1] ?? 0) + 1, (d[i - 1]?.[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (d[i - 2]?.[j - 2] ?? 0) + 1);
      (d[i] as number[])[j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
  }
  return d[a.length]?.[b.length] ?? max + 1;
}

/** The registrable domain (example.co.uk for a.b.example.co.uk), or the host itself when it has none. */
export function registrableDomain(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  return getDomain(h, { allowPrivateDomains: false }) ?? h;
}

export function isSameOrganisation(a: string, b: string): boolean {
  return registrableDomain(a) === registrableDomain(b);
}

export interface LookalikeMatch {
  domain: string;
  protectedDomain: string;
  /** skeleton | punycode | edit_distance | suffix_swap | embedded_name */
  technique: string;
  detail: string;
}

/** Whether `domain` imitates one of `protectedDomains` (and is not one of them or their subdomains). */
export function findLookalike(domain: string, protectedDomains: string[]): LookalikeMatch | undefined {
  const host = domain.toLowerCase().replace(/\.$/, '');
  if (!host.includes('.')) return undefined;
  const unicodeHost = host.includes('xn--') ? domainToUnicode(host) || host : host;
  const registrable = registrableDomain(unicodeHost);
  for (const protectedDomain of protectedDomains) {
    const own = protectedDomain.toLowerCase();
    if (registrable === registrableDomain(own) || host === own || host.endsWith(`.${own}`)) return undefined;
  }
  const label = getDomainWithoutSuffix(unicodeHost) ?? registrable.split('.')[0] ?? '';
  const suffix = getPublicSuffix(unicodeHost) ?? '';
  for (const protectedDomain of protectedDomains) {
    const own = protectedDomain.toLowerCase();
    const ownLabel = getDomainWithoutSuffix(own) ?? own.split('.')[0] ?? '';
    const ownSuffix = getPublicSuffix(own) ?? '';
    if (ownLabel.length < 3) continue;
    if (skeleton(label) === skeleton(ownLabel) && label !== ownLabel) {
      return {
        domain: host,
        protectedDomain: own,
        technique: host.includes('xn--') ? 'punycode' : 'skeleton',
        detail: `${unicodeHost} reads as ${ownLabel} (confusable characters)`,
      };
    }
    if (label === ownLabel && suffix !== ownSuffix) {
      return { domain: host, protectedDomain: own, technique: 'suffix_swap', detail: `${host} is ${ownLabel} under .${suffix} instead of .${ownSuffix}` };
    }
    const allowed = ownLabel.length <= 5 ? 1 : 2;
    const distance = editDistance(skeleton(label), skeleton(ownLabel), allowed);
    if (distance > 0 && distance <= allowed) {
      return { domain: host, protectedDomain: own, technique: 'edit_distance', detail: `${host} is ${distance} edit(s) from ${own}` };
    }
    // microsoft.com.account-verify.io, paypal-secure-login.com: the brand worn inside someone else's domain.
    if (ownLabel.length >= 4) {
      const words = skeleton(unicodeHost).split(/[.-]/);
      const ownSkeleton = skeleton(ownLabel);
      if (words.includes(ownSkeleton) || (skeleton(label).includes(ownSkeleton) && label !== ownLabel)) {
        return {
          domain: host,
          protectedDomain: own,
          technique: 'embedded_name',
          detail: `${host} contains the name ${ownLabel} but belongs to ${registrable}`,
        };
      }
    }
  }
  return undefined;
}
