import { domainToASCII } from 'node:url';
import { RiposteError } from './errors.ts';
import { formatIpv6Groups, isIpv4, parseIpv6Groups } from './net-address.ts';

/**
 * Observables: the typed facts (an IP, a domain, a hash …) that alerts carry and cases collect. Every
 * module compares them, so one normalisation lives here: the same indicator written two ways (upper-case
 * IPv6, a Unicode domain, a defanged URL from a threat report) must land on the same stored row.
 * `normalizeObservable` is idempotent: normalising its own output returns it unchanged.
 */
export const OBSERVABLE_TYPES = [
  'ipv4',
  'ipv6',
  'cidr',
  'domain',
  'url',
  'email',
  'hostname',
  'user',
  'md5',
  'sha1',
  'sha256',
  'file_name',
  'registry_key',
  'registry_value',
  'process',
  'mac',
] as const;

export type ObservableType = (typeof OBSERVABLE_TYPES)[number];

export interface Observable {
  type: ObservableType;
  value: string;
}

export function isObservableType(value: unknown): value is ObservableType {
  return typeof value === 'string' && (OBSERVABLE_TYPES as readonly string[]).includes(value);
}

const MAX_VALUE_LENGTH = 4096;

function invalid(type: string, raw: string, why: string): RiposteError {
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  return new RiposteError('observable.invalid', `${JSON.stringify(shown)} is not a valid ${type}: ${why}`, {
    status: 400,
    details: { type, value: shown },
  });
}

/**
 * Undoes the usual defanging of threat reports and mail gateways: hxxp://, [.] (.) {.} [dot],
 * [at] (at) [@], [:] and [://]. Applied before any other normalisation.
 */
export function refang(text: string): string {
  return text
    .replace(/\bh(?:xx|XX|\*\*|__)p(s?)(\[?:\]?)\/\//g, (_m, s: string) => `http${s}://`)
    .replace(/\bfxp(s?):\/\//gi, (_m, s: string) => `ftp${s}://`)
    .replace(/\[:\/\/\]/g, '://')
    .replace(/\[:\]/g, ':')
    .replace(/\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})\s?/gi, '.')
    .replace(/\s?(?:\[at\]|\(at\)|\{at\}|\[@\]|\(@\))\s?/gi, '@');
}

// ---------------------------------------------------------------- IP addresses

export function isIpv6(value: string): boolean {
  return parseIpv6Groups(value) !== undefined;
}

function normalizeIpv4(raw: string): string {
  const value = raw.trim();
  if (isIpv4(value)) return value;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) {
    const parts = value.split('.');
    if (parts.some((p) => Number(p) > 255)) throw invalid('ipv4', raw, 'each of the four numbers must be from 0 to 255');
    throw invalid('ipv4', raw, 'leading zeros are ambiguous (octal or decimal?); write each number without them');
  }
  throw invalid('ipv4', raw, 'expected four numbers from 0 to 255 separated by dots, such as 203.0.113.7');
}

function normalizeIpv6(raw: string): string {
  const groups = parseIpv6Groups(raw.trim());
  if (!groups) throw invalid('ipv6', raw, 'expected eight hexadecimal groups separated by colons, "::" allowed once, such as 2001:db8::1');
  return formatIpv6Groups(groups);
}

function normalizeCidr(raw: string): string {
  const value = raw.trim();
  const slash = value.indexOf('/');
  if (slash < 0) throw invalid('cidr', raw, 'expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32');
  const address = value.slice(0, slash);
  const prefixText = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) throw invalid('cidr', raw, 'the prefix length after "/" must be a whole number');
  const prefix = Number(prefixText);
  if (isIpv4(address)) {
    if (prefix > 32) throw invalid('cidr', raw, 'an IPv4 prefix length must be from 0 to 32');
    const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const mask = prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix);
    // Host bits are dropped so 10.1.2.3/8 and 10.0.0.0/8 are the same network.
    const network = Number((BigInt(n) & BigInt(mask)) >> 0n);
    return `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join('.')}/${prefix}`;
  }
  const groups = parseIpv6Groups(address);
  if (groups) {
    if (prefix > 128) throw invalid('cidr', raw, 'an IPv6 prefix length must be from 0 to 128');
    const masked = groups.map((g, i) => {
      const bits = Math.max(0, Math.min(16, prefix - i * 16));
      return bits === 0 ? 0 : g & (0xffff << (16 - bits)) & 0xffff;
    });
    return `${formatIpv6Groups(masked)}/${prefix}`;
  }
  throw invalid('cidr', raw, `${JSON.stringify(address)} before "/" is not an IPv4 or IPv6 address`);
}

// ---------------------------------------------------------------- names

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function normalizeDnsName(type: 'domain' | 'hostname', raw: string): string {
  let value = refang(raw.trim());
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (value === '') throw invalid(type, raw, 'it is empty');
  if (/[\s/:@]/.test(value)) throw invalid(type, raw, 'it contains a space, "/", ":" or "@" (a URL or email address is a different type)');
  // domainToASCII applies IDNA (UTS #46): Unicode → punycode, upper → lower case. It returns "" when invalid.
  const ascii = /^[\x21-\x7e]+$/.test(value) && !/xn--/i.test(value) ? value.toLowerCase() : domainToASCII(value);
  if (ascii === '') throw invalid(type, raw, 'it is not a valid internationalised domain name');
  if (ascii.length > 253) throw invalid(type, raw, 'it is longer than 253 characters');
  const labels = ascii.split('.');
  for (const label of labels) {
    if (!LABEL.test(label))
      throw invalid(type, raw, `label ${JSON.stringify(label)} must be 1-63 letters, digits, "-" or "_", not starting or ending with "-"`);
  }
  if (type === 'domain') {
    if (labels.length < 2) throw invalid(type, raw, 'a domain needs at least two labels, such as example.com');
    if (/^\d+$/.test(labels.at(-1) ?? '')) throw invalid(type, raw, 'the last label is numeric (an IP address is a different type)');
  }
  return ascii;
}

function normalizeEmail(raw: string): string {
  const value = refang(raw.trim()).replace(/^mailto:/i, '');
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) throw invalid('email', raw, 'expected local-part@domain');
  const local = value.slice(0, at);
  if (local.length > 64 || /[\s<>()[\]\\,;:"]/.test(local)) throw invalid('email', raw, 'the part before "@" has characters not allowed in an address');
  let domain: string;
  try {
    domain = normalizeDnsName('domain', value.slice(at + 1));
  } catch (error) {
    throw invalid('email', raw, `its domain is invalid (${(error as Error).message})`);
  }
  // Local parts are case-sensitive on paper, never in practice; folding keeps one row per mailbox.
  return `${local.toLowerCase()}@${domain}`;
}

const URL_SCHEMES = new Set(['http:', 'https:', 'ftp:', 'ftps:', 'ws:', 'wss:', 'sftp:', 'smb:', 'file:']);

function normalizeUrl(raw: string): string {
  let value = refang(raw.trim());
  if (/^[a-z0-9.-]+\.[a-z]{2,}(?:[/:?#]|$)/i.test(value) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `http://${value}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('url', raw, 'expected an absolute URL such as https://example.com/path');
  }
  if (!URL_SCHEMES.has(url.protocol))
    throw invalid('url', raw, `scheme ${url.protocol.slice(0, -1)} is not one of ${[...URL_SCHEMES].map((s) => s.slice(0, -1)).join(', ')}`);
  if (url.protocol !== 'file:' && url.hostname === '') throw invalid('url', raw, 'it has no host');
  // WHATWG URL already lower-cases scheme and host, applies IDNA, drops default ports and resolves dot
  // segments. A trailing "#" with nothing after it carries nothing.
  // A bare "?" or "#" carries nothing; assigning '' drops the delimiter itself.
  if (url.search === '') url.search = '';
  if (url.hash === '') url.hash = '';
  return url.toString();
}

// ---------------------------------------------------------------- the rest

const HIVES: Record<string, string> = {
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKEY_LOCAL_MACHINE: 'HKEY_LOCAL_MACHINE',
  HKCU: 'HKEY_CURRENT_USER',
  HKEY_CURRENT_USER: 'HKEY_CURRENT_USER',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKEY_CLASSES_ROOT: 'HKEY_CLASSES_ROOT',
  HKU: 'HKEY_USERS',
  HKEY_USERS: 'HKEY_USERS',
  HKCC: 'HKEY_CURRENT_CONFIG',
  HKEY_CURRENT_CONFIG: 'HKEY_CURRENT_CONFIG',
};

function normalizeRegistry(type: 'registry_key' | 'registry_value', raw: string): string {
  const value = raw
    .trim()
    .replace(/\//g, '\\')
    .replace(/\\{2,}/g, '\\')
    .replace(/\\$/, '')
    .replace(/^\\?registry\\machine\\/i, 'HKLM\\')
    .replace(/^\\?registry\\user\\/i, 'HKU\\');
  const [hive, ...rest] = value.split('\\');
  const canonical = HIVES[(hive ?? '').toUpperCase()];
  if (!canonical) throw invalid(type, raw, `it must start with a hive such as HKLM, HKCU, HKEY_LOCAL_MACHINE (got ${JSON.stringify(hive)})`);
  if (type === 'registry_value' && rest.length === 0) throw invalid(type, raw, 'a value needs a key path and a value name after the hive');
  return [canonical, ...rest].join('\\');
}

function normalizeMac(raw: string): string {
  const hex = raw.trim().toLowerCase().replace(/[:.-]/g, '');
  if (
    !/^[0-9a-f]{12}$/.test(hex) ||
    !/^[0-9a-f]{2}([:.-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$|^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(raw.trim().toLowerCase())
  ) {
    throw invalid('mac', raw, 'expected six hexadecimal bytes such as 00:1a:2b:3c:4d:5e');
  }
  return hex.match(/../g)?.join(':') ?? hex;
}

function normalizeHash(type: 'md5' | 'sha1' | 'sha256', raw: string): string {
  const length = { md5: 32, sha1: 40, sha256: 64 }[type];
  const value = raw.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(value) || value.length !== length) throw invalid(type, raw, `expected ${length} hexadecimal characters`);
  return value;
}

function normalizeText(type: ObservableType, raw: string, fold: boolean): string {
  const value = raw.trim().replace(/\s+/g, ' ');
  if (value === '') throw invalid(type, raw, 'it is empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(type, raw, 'it contains control characters');
  return fold ? value.toLowerCase() : value;
}

/**
 * The canonical form of an observable, or a RiposteError ('observable.invalid', status 400) that names
 * the type, the value and what is wrong with it.
 */
export function normalizeObservable(type: ObservableType, raw: string): string {
  if (typeof raw !== 'string') throw invalid(type, String(raw), 'it must be a string');
  if (raw.length > MAX_VALUE_LENGTH) throw invalid(type, raw, `it is longer than ${MAX_VALUE_LENGTH} characters`);
  switch (type) {
    case 'ipv4':
      return normalizeIpv4(refang(raw));
    case 'ipv6':
      return normalizeIpv6(refang(raw));
    case 'cidr':
      return normalizeCidr(refang(raw));
    case 'domain':
    case 'hostname':
      return normalizeDnsName(type, raw);
    case 'url':
      return normalizeUrl(raw);
    case 'email':
      return normalizeEmail(raw);
    case 'md5':
    case 'sha1':
    case 'sha256':
      return normalizeHash(type, raw);
    case 'mac':
      return normalizeMac(raw);
    case 'registry_key':
    case 'registry_value':
      return normalizeRegistry(type, raw);
    case 'user':
      // Windows and most IdPs compare account names case-insensitively.
      return normalizeText(type, raw, true);
    case 'file_name':
    case 'process':
      return normalizeText(type, raw, false);
    default:
      throw new RiposteError('observable.invalid', `unknown observable type ${JSON.stringify(type)}; known types: ${OBSERVABLE_TYPES.join(', ')}`, {
        status: 400,
      });
  }
}

/** Validates `{type, value}` from a caller and returns it normalised. */
export function parseObservable(input: { type: unknown; value: unknown }): Observable {
  if (!isObservableType(input.type)) {
    throw new RiposteError('observable.invalid', `observable type ${JSON.stringify(input.type)} is not one of ${OBSERVABLE_TYPES.join(', ')}`, {
      status: 400,
    });
  }
  if (typeof input.value !== 'string') throw invalid(input.type, String(input.value), 'the value must be a string');
  return { type: input.type, value: normalizeObservable(input.type, input.value) };
}

/** Like normalizeObservable, but undefined instead of an error: for extraction, where most text is not an observable. */
export function tryNormalizeObservable(type: ObservableType, raw: string): string | undefined {
  try {
    return normalizeObservable(type, raw);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- detection and extraction

/** File extensions that look like top-level domains in free text ("invoice.exe", "run.ps1"). */
const FILE_EXTENSIONS = new Set([
  'exe',
  'dll',
  'sys',
  'bat',
  'cmd',
  'ps1',
  'psm1',
  'vbs',
  'js',
  'jse',
  'hta',
  'lnk',
  'scr',
  'msi',
  'doc',
  'docx',
  'docm',
  'xls',
  'xlsx',
  'xlsm',
  'ppt',
  'pptx',
  'pdf',
  'txt',
  'log',
  'csv',
  'json',
  'xml',
  'yml',
  'yaml',
  'ini',
  'tmp',
  'dat',
  'bin',
  'iso',
  'img',
  'rar',
  '7z',
  'gz',
  'tar',
  'jar',
  'py',
  'sh',
  'so',
  'png',
  'jpg',
  'jpeg',
  'gif',
  'html',
  'htm',
  'php',
  'asp',
  'aspx',
  'conf',
  'cfg',
  'evtx',
  'eml',
  'msg',
]);

/** Best guess at what a bare value is, for fields that do not say (free text, generic JSON). */
export function detectObservableType(raw: string): ObservableType | undefined {
  const value = refang(raw.trim());
  if (value === '' || value.length > MAX_VALUE_LENGTH) return undefined;
  if (isIpv4(value)) return 'ipv4';
  if (value.includes(':') && parseIpv6Groups(value)) return 'ipv6';
  if (/^[0-9a-f:.]+\/\d{1,3}$/i.test(value) && tryNormalizeObservable('cidr', value)) return 'cidr';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && tryNormalizeObservable('url', value)) return 'url';
  if (/^[0-9a-f]{64}$/i.test(value)) return 'sha256';
  if (/^[0-9a-f]{40}$/i.test(value)) return 'sha1';
  if (/^[0-9a-f]{32}$/i.test(value)) return 'md5';
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(value)) return 'mac';
  if (/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i.test(value) && tryNormalizeObservable('email', value)) return 'email';
  if (/^(HKLM|HKCU|HKCR|HKU|HKCC|HKEY_[A-Z_]+)[\\/]/i.test(value)) return 'registry_key';
  if (looksLikeDomain(value)) return 'domain';
  return undefined;
}

function looksLikeDomain(value: string): boolean {
  if (!/^[\p{L}\p{N}_-]+(\.[\p{L}\p{N}_-]+)+\.?$/u.test(value)) return false;
  const tld = value.replace(/\.$/, '').split('.').at(-1)?.toLowerCase() ?? '';
  if (!/^(xn--[a-z0-9-]+|\p{L}{2,24})$/u.test(tld) || FILE_EXTENSIONS.has(tld)) return false;
  return tryNormalizeObservable('domain', value) !== undefined;
}

export interface ExtractedObservable extends Observable {
  /** Where it was found: a JSON path such as "result.src_ip", or "text". */
  field: string;
}

const TEXT_PATTERNS: Array<[ObservableType, RegExp]> = [
  ['url', /\b(?:https?|ftps?|hxxps?|sftp):\/\/[^\s"'<>`]+/gi],
  ['email', /\b[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,24}\b/gi],
  ['cidr', /\b(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}\b/g],
  ['ipv4', /\b(?:\d{1,3}\.){3}\d{1,3}\b/g],
  ['ipv6', /(?<![0-9a-z:.])(?=[0-9a-f:]*[0-9a-f])(?=(?:[0-9a-f]*:){2})[0-9a-f:]{2,39}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![0-9a-z:])/gi],
  ['sha256', /\b[0-9a-f]{64}\b/gi],
  ['sha1', /\b[0-9a-f]{40}\b/gi],
  ['md5', /\b[0-9a-f]{32}\b/gi],
  ['mac', /\b[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}\b/gi],
  ['registry_key', /\b(?:HKLM|HKCU|HKCR|HKU|HKEY_LOCAL_MACHINE|HKEY_CURRENT_USER|HKEY_CLASSES_ROOT|HKEY_USERS)\\[^\s"'<>,;]+/g],
  ['domain', /\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:xn--[a-z0-9-]+|[a-z]{2,24})\b/gi],
];

const MAX_TEXT = 64 * 1024;

/** Finds observables in free text (alert descriptions, comments, email bodies), defanged or not. */
export function extractFromText(text: string, field = 'text'): ExtractedObservable[] {
  const found = new ObservableSet();
  let remaining = refang(text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text);
  for (const [type, pattern] of TEXT_PATTERNS) {
    for (const match of remaining.matchAll(pattern)) {
      let raw = match[0];
      if (type === 'url') raw = raw.replace(/[).,;:!?\]]+$/, '');
      if (type === 'domain' && !looksLikeDomain(raw)) continue;
      const value = tryNormalizeObservable(type, raw);
      if (value !== undefined) found.add({ type, value, field });
    }
    // A URL's host or an email's domain is not reported again as a bare domain or IP.
    if (type === 'url' || type === 'email' || type === 'cidr') remaining = remaining.replace(pattern, ' ');
  }
  return found.list();
}

/** Field names that say what their value is, matched on the last segment(s) of the JSON path. */
const FIELD_HINTS: Array<[RegExp, ObservableType | 'ip' | 'hash']> = [
  [
    /(^|[._])(src|source|dst|dest|destination|client|server|remote|local|orig|resp|host|device|public|private|external|internal|nat)?[._]?(ip|ip_?addr(ess)?|ipv4|ipv6)$/i,
    'ip',
  ],
  [/(^|[._])(address)$/i, 'ip'],
  [/(^|[._])(mac|mac_?addr(ess)?)$/i, 'mac'],
  [/(^|[._])(md5|hash[._]md5|md5_?hash)$/i, 'md5'],
  [/(^|[._])(sha1|hash[._]sha1|sha1_?hash)$/i, 'sha1'],
  [/(^|[._])(sha256|hash[._]sha256|sha256_?hash|file_?hash|hash|hash_?value)$/i, 'hash'],
  [/(^|[._])(url|uri|url[._]full|link|request_?url)$/i, 'url'],
  [/(^|[._])(email|e_?mail|sender|recipient|from_?address|to_?address|mail_?from|rcpt_?to|upn|user_?principal_?name)$/i, 'email'],
  [/(^|[._])(domain|domain_?name|fqdn|query|dns[._]question[._]name|server[._]domain|url[._]domain)$/i, 'domain'],
  [/(^|[._])(hostname|host_?name|host[._]name|computer|computer_?name|device_?name|workstation|dest_?host|src_?host|machine)$/i, 'hostname'],
  [/(^|[._])(user|user_?name|user[._]name|account|account_?name|src_user|dest_user|target_?user(_?name)?|login)$/i, 'user'],
  [/(^|[._])(file_?name|file[._]name|filename)$/i, 'file_name'],
  [/(^|[._])(process|process_?name|process[._]name|image|command_?line|process[._]command_line|cmdline|parent_?process(_?name)?)$/i, 'process'],
  [/(^|[._])(registry[._](key|path)|reg_?key|registry_?key)$/i, 'registry_key'],
  [/(^|[._])(registry[._]value|reg_?value|registry_?value(_?name)?)$/i, 'registry_value'],
];

function hintFor(path: string): ObservableType | 'ip' | 'hash' | undefined {
  for (const [pattern, type] of FIELD_HINTS) if (pattern.test(path)) return type;
  return undefined;
}

function typedFromHint(hint: ObservableType | 'ip' | 'hash', raw: string): Observable | undefined {
  const trimmed = refang(raw.trim());
  if (hint === 'ip') {
    const type: ObservableType | undefined = isIpv4(trimmed) ? 'ipv4' : parseIpv6Groups(trimmed) ? 'ipv6' : trimmed.includes('/') ? 'cidr' : undefined;
    if (!type) return undefined;
    const value = tryNormalizeObservable(type, trimmed);
    return value === undefined ? undefined : { type, value };
  }
  if (hint === 'hash') {
    const type = ({ 32: 'md5', 40: 'sha1', 64: 'sha256' } as const)[trimmed.length as 32 | 40 | 64];
    if (!type) return undefined;
    const value = tryNormalizeObservable(type, trimmed);
    return value === undefined ? undefined : { type, value };
  }
  if (hint === 'hostname' && isIpv4(trimmed)) return { type: 'ipv4', value: trimmed };
  if (hint === 'domain' || hint === 'hostname') {
    // A "domain" field holding a Windows domain ("CORP") is not a DNS name; skip rather than guess.
    if (hint === 'domain' && !trimmed.includes('.')) return undefined;
  }
  if (hint === 'user' && (trimmed === '-' || trimmed === '' || /^(n\/a|null|none|unknown|system)$/i.test(trimmed))) return undefined;
  const value = tryNormalizeObservable(hint, trimmed);
  return value === undefined ? undefined : { type: hint, value };
}

const MAX_DEPTH = 12;
const MAX_FOUND = 500;

/**
 * Walks a JSON document (a vendor alert) and collects observables: typed by field name where the name
 * says (src_ip, user.name, file.hash.sha256 …), otherwise by the shape of the value, and free-text
 * fields are scanned. Keys may be nested objects or dotted ("source.ip"); both yield the same path.
 */
export function extractFromJson(document: unknown, options: { skip?: (path: string) => boolean } = {}): ExtractedObservable[] {
  const found = new ObservableSet();
  const visit = (value: unknown, path: string, depth: number) => {
    if (found.size >= MAX_FOUND || depth > MAX_DEPTH) return;
    if (path && options.skip?.(path)) return;
    if (typeof value === 'string') {
      const hint = path ? hintFor(path) : undefined;
      if (hint) {
        const typed = typedFromHint(hint, value);
        if (typed) {
          found.add({ ...typed, field: path });
          return;
        }
      }
      const detected = detectObservableType(value);
      if (detected) {
        const normalised = tryNormalizeObservable(detected, value);
        if (normalised !== undefined) {
          found.add({ type: detected, value: normalised, field: path });
          return;
        }
      }
      if (value.length > 8 && /[\s/:@]/.test(value)) for (const item of extractFromText(value, path)) found.add(item);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item, path, depth + 1);
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, path ? `${path}.${key}` : key, depth + 1);
    }
  };
  visit(document, '', 0);
  return found.list();
}

/** Keeps the first occurrence of each (type, value). */
export class ObservableSet {
  readonly #items = new Map<string, ExtractedObservable>();
  add(item: ExtractedObservable): void {
    const key = `${item.type}\u0000${item.value}`;
    if (!this.#items.has(key)) this.#items.set(key, item);
  }
  get size(): number {
    return this.#items.size;
  }
  list(): ExtractedObservable[] {
    return [...this.#items.values()];
  }
}
