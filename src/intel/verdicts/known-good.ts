import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CidrSet, DomainSet, isIpAddress, normalizeDomain, parseCidr } from '../../core/index.ts';

/**
 * Known-good lists, checked before any scoring: the MISP warning lists shipped in data/warninglists
 * (CDNs, cloud ranges, public resolvers, reserved ranges, sinkholes, top domains …) and the user's own
 * allow-lists (partners' addresses, the organisation's own ranges and domains). A warning-list hit means
 * "shared or well-known infrastructure": evidence against it is about someone else's content, so it is
 * never called malicious. A user allow-list hit is an explicit decision: the verdict is benign.
 */
export interface KnownGoodHit {
  kind: 'warninglist' | 'allowlist';
  /** File or allow-list name (`cloudflare`, `partners`). */
  list: string;
  /** Human title ("List of known Cloudflare IP ranges", "Northwind Traders VPN"). */
  title: string;
  /** The entry that matched (a CIDR or domain). */
  entry: string;
}

export interface AllowListEntry {
  /** An IP, CIDR or domain. */
  value: string;
  /** Who or what it is ("Northwind Traders VPN gateway"). */
  label: string;
}

export interface AllowLists {
  /** Partners' and suppliers' addresses and domains. */
  partners?: readonly AllowListEntry[];
  /** The organisation's own ranges and domains. */
  own?: readonly AllowListEntry[];
}

interface CompiledList {
  name: string;
  title: string;
  kind: KnownGoodHit['kind'];
  cidrs?: CidrSet;
  domains?: DomainSet;
  exact?: Set<string>;
  labels?: Map<string, string>;
}

export const DEFAULT_WARNINGLIST_DIR = new URL('../../../data/warninglists/', import.meta.url);

/** Warning lists that describe data, not infrastructure, and would only add noise to IP/domain checks. */
const SKIPPED = new Set(['disposable-email', 'second-level-tlds', 'microsoft-attack-simulator', 'url-shortener', 'dynamic-dns']);

export class KnownGoodLists {
  readonly #lists: CompiledList[];

  private constructor(lists: CompiledList[]) {
    this.#lists = lists;
  }

  static load(options: { dir?: URL | string; allow?: AllowLists; only?: readonly string[] } = {}): KnownGoodLists {
    const lists = loadWarningLists(options.dir ?? DEFAULT_WARNINGLIST_DIR).filter((list) => !options.only || options.only.includes(list.name));
    const allow = Object.entries(options.allow ?? {}) as Array<[string, readonly AllowListEntry[]]>;
    return new KnownGoodLists([...allow.map(([name, entries]) => compileAllowList(name, entries)), ...lists]);
  }

  /** Every list that holds the value, user allow-lists first. */
  check(value: string): KnownGoodHit[] {
    const hits: KnownGoodHit[] = [];
    const ip = isIpAddress(value);
    const domain = ip ? undefined : normalizeDomain(value);
    for (const list of this.#lists) {
      let entry: string | undefined;
      if (ip && list.cidrs) {
        const range = list.cidrs.match(value);
        if (range) entry = range.text;
      } else if (domain && list.domains) {
        entry = list.domains.match(domain);
      }
      if (!entry && list.exact?.has(value.toLowerCase())) entry = value.toLowerCase();
      if (entry) hits.push({ kind: list.kind, list: list.name, title: list.labels?.get(entry) ?? list.title, entry });
    }
    return hits.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'allowlist' ? -1 : 1));
  }
}

// Compiling ~70k ranges takes most of a second: once per process and folder.
const compiledFolders = new Map<string, CompiledList[]>();

/**
 * The raw entries of one shipped warning list (`tranco10k`, `second-level-tlds` …), lower-cased, for
 * callers that need exact membership rather than the "is it under a listed domain" of `check`.
 */
export function warningListEntries(name: string, dir: URL | string = DEFAULT_WARNINGLIST_DIR): string[] {
  const folder = typeof dir === 'string' ? pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`) : dir;
  const data = JSON.parse(readFileSync(new URL(`${name}.json`, folder), 'utf8')) as { list?: string[] };
  return (data.list ?? []).map((entry) => entry.trim().toLowerCase()).filter(Boolean);
}

function loadWarningLists(dir: URL | string): CompiledList[] {
  const folder = typeof dir === 'string' ? pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`) : dir;
  const cached = compiledFolders.get(folder.href);
  if (cached) return cached;
  const lists: CompiledList[] = [];
  for (const file of readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const name = file.replace(/\.json$/, '');
    if (SKIPPED.has(name)) continue;
    const data = JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as { name?: string; type?: string; list?: string[] };
    const title = data.name ?? name;
    const entries = data.list ?? [];
    if (data.type === 'cidr') lists.push({ name, title, kind: 'warninglist', cidrs: new CidrSet(entries.filter((e) => isCidrLike(e))) });
    else if (data.type === 'hostname')
      lists.push({ name, title, kind: 'warninglist', domains: new DomainSet(entries.flatMap((e) => normalizeDomain(e) ?? [])) });
    else if (data.type === 'string') lists.push({ name, title, kind: 'warninglist', exact: new Set(entries.map((e) => e.toLowerCase())) });
  }
  compiledFolders.set(folder.href, lists);
  return lists;
}

function compileAllowList(name: string, entries: readonly AllowListEntry[]): CompiledList {
  const cidrs: string[] = [];
  const domains: string[] = [];
  const labels = new Map<string, string>();
  for (const entry of entries) {
    if (isCidrLike(entry.value)) {
      const cidr = entry.value.includes('/') ? entry.value : `${entry.value}/${entry.value.includes(':') ? 128 : 32}`;
      cidrs.push(cidr);
      const range = parseCidr(cidr);
      if (!range) throw new TypeError(`allow-list ${name}: ${JSON.stringify(entry.value)} is not a valid CIDR`);
      labels.set(range.text, entry.label);
    } else {
      const domain = normalizeDomain(entry.value);
      if (!domain) throw new TypeError(`allow-list ${name}: ${JSON.stringify(entry.value)} is not an IP, CIDR or domain`);
      domains.push(domain);
      labels.set(domain, entry.label);
    }
  }
  return { name, title: name, kind: 'allowlist', cidrs: new CidrSet(cidrs), domains: new DomainSet(domains), labels };
}

function isCidrLike(text: string): boolean {
  const [address, prefix] = text.split('/');
  return isIpAddress(address ?? '') && (prefix === undefined || /^\d{1,3}$/.test(prefix));
}
