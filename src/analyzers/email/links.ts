import { isIpAddress } from '../../core/index.ts';
import { registrableDomain } from './lookalike-domains.ts';

/**
 * Links in a message: URLs from plain text and from HTML (anchors, forms, src attributes, meta refresh),
 * with what an anchor showed the reader, so a "https://bank.example" that leads elsewhere is caught.
 * Output is always defanged (hxxp, [.]) so a report pasted into a ticket is not clickable.
 */
export interface ExtractedLink {
  url: string;
  host: string;
  /** text | href | form | src | meta_refresh | attachment | qr (decoded from a QR code in an image) */
  source: string;
  /** The visible text of an anchor, when it was one. */
  displayed?: string;
  /** Where it came from when found in an attachment (its file name). */
  attachment?: string;
}

export const URL_SHORTENERS = new Set([
  'bit.ly',
  'bitly.com',
  'tinyurl.com',
  't.co',
  'goo.gl',
  'ow.ly',
  'is.gd',
  'buff.ly',
  'rebrand.ly',
  'cutt.ly',
  'shorturl.at',
  't.ly',
  'rb.gy',
  'tiny.cc',
  's.id',
  'v.gd',
  'bl.ink',
  'short.io',
  'lnkd.in',
  'qrco.de',
  'tr.im',
  'shorte.st',
  'adf.ly',
]);

const MAX_LINKS = 500;
const TEXT_URL = /\b(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^\][)]+/gi;

export function decodeHtmlEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]{1,6});/gi, (_, hex: string) => safeCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d{1,7});/g, (_, dec: string) => safeCodePoint(Number.parseInt(dec, 10)))
    .replace(/&amp;/gi, '&')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&apos;|&#39;/gi, "'")
    .replace(/&nbsp;/gi, ' ');
}

function safeCodePoint(code: number): string {
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
}

/** Host of an absolute http(s) URL, lower case; undefined for relative, mailto and anything unparseable. */
export function urlHost(url: string): string | undefined {
  try {
    const parsed = new URL(url.startsWith('www.') ? `http://${url}` : url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    return parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

function trimTrailingPunctuation(url: string): string {
  return url.replace(/[.,;:!?'"»]+$/, '');
}

export function linksFromText(text: string, source = 'text'): ExtractedLink[] {
  const out: ExtractedLink[] = [];
  for (const match of text.matchAll(TEXT_URL)) {
    const url = trimTrailingPunctuation(match[0]);
    const host = urlHost(url);
    if (host) out.push({ url: url.startsWith('www.') ? `http://${url}` : url, host, source });
    if (out.length >= MAX_LINKS) break;
  }
  return out;
}

/**
 * Tags are read by one linear scan: each "<" starts at most one bounded match, so hostile markup (thousands
 * of unclosed "<a" or "<script") costs linear time instead of the quadratic backtracking of tag regexes.
 */
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]{0,20})\b([^<>]{0,8192})>?/g;
const ATTRIBUTE = (name: string) => new RegExp(`(?:^|[\\s"'/])${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i');
const MAX_HTML_CHARS = 4 * 1024 * 1024;

function attributeValue(attributes: string, name: string): string | undefined {
  const m = ATTRIBUTE(name).exec(attributes);
  const value = m?.[1] ?? m?.[2] ?? m?.[3];
  return value === undefined ? undefined : decodeHtmlEntities(value).trim();
}

/** Visible text of HTML: script and style bodies dropped, tags removed, entities decoded (linear time). */
export function htmlToText(html: string): string {
  const source = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;
  const lower = source.toLowerCase();
  let text = '';
  let at = 0;
  const opener = /<(script|style)\b/g;
  for (;;) {
    opener.lastIndex = at;
    const open = opener.exec(lower);
    if (!open) {
      text += source.slice(at);
      break;
    }
    text += `${source.slice(at, open.index)} `;
    const close = lower.indexOf(`</${open[1]}`, open.index);
    if (close < 0) break;
    const end = lower.indexOf('>', close);
    at = end < 0 ? source.length : end + 1;
  }
  return decodeHtmlEntities(text.replace(/<[^<>]{0,8192}>/g, ' ').replace(/\s+/g, ' ')).trim();
}

const TAG_SOURCES: Record<string, Array<[string, string]>> = {
  form: [['action', 'form']],
  img: [['src', 'src']],
  iframe: [['src', 'src']],
  script: [['src', 'src']],
  embed: [['src', 'src']],
  area: [['href', 'href']],
};

export function linksFromHtml(fullHtml: string, extraSource?: string): ExtractedLink[] {
  const html = fullHtml.length > MAX_HTML_CHARS ? fullHtml.slice(0, MAX_HTML_CHARS) : fullHtml;
  const out: ExtractedLink[] = [];
  const push = (raw: string | undefined, source: string, displayed?: string) => {
    if (!raw || out.length >= MAX_LINKS) return;
    const url = raw.replace(/\s+/g, '');
    const host = urlHost(url);
    if (host) out.push({ url, host, source: extraSource ?? source, ...(displayed ? { displayed } : {}) });
    else if (/^(?:javascript|data|vbscript):/i.test(url))
      out.push({ url: url.slice(0, 200), host: '', source: extraSource ?? source, ...(displayed ? { displayed } : {}) });
  };
  let openAnchor: { href: string | undefined; textStart: number } | undefined;
  for (const match of html.matchAll(TAG)) {
    if (out.length >= MAX_LINKS) break;
    const closing = match[1] === '/';
    const tag = (match[2] ?? '').toLowerCase();
    const attributes = match[3] ?? '';
    if (tag === 'a') {
      // An anchor ends at its </a> or at the next <a> (browsers close it there too).
      if (openAnchor)
        push(
          openAnchor.href,
          'href',
          htmlToText(html.slice(openAnchor.textStart, Math.min(match.index, openAnchor.textStart + 4000))).slice(0, 300) || undefined,
        );
      openAnchor = closing ? undefined : { href: attributeValue(attributes, 'href'), textStart: match.index + match[0].length };
      continue;
    }
    if (closing) continue;
    for (const [attribute, source] of TAG_SOURCES[tag] ?? []) push(attributeValue(attributes, attribute), source);
    if (tag === 'meta' && /http-equiv\s*=\s*["']?refresh/i.test(attributes)) {
      const content = attributeValue(attributes, 'content') ?? '';
      push(/url\s*=\s*['"]?([^'"\s>]+)/i.exec(content)?.[1], 'meta_refresh');
    }
  }
  if (openAnchor) push(openAnchor.href, 'href', htmlToText(html.slice(openAnchor.textStart, openAnchor.textStart + 4000)).slice(0, 300) || undefined);
  // URLs written as visible text inside the HTML (not in tags) are links too for the reader.
  for (const link of linksFromText(htmlToText(html), extraSource ?? 'text')) if (out.length < MAX_LINKS) out.push(link);
  return out;
}

/**
 * An anchor whose visible text names another site than the one it opens: the text must itself look like
 * a URL or domain, and the two must belong to different registrable domains (tracking redirects within
 * one organisation are not flagged).
 */
export function displayedTargetMismatch(link: ExtractedLink): string | undefined {
  if (!link.displayed || !link.host) return undefined;
  const shown = /(?:https?:\/\/)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]|\s|$)/i.exec(link.displayed.trim());
  if (!shown?.[1]) return undefined;
  const shownHost = shown[1].toLowerCase();
  if (!/^(?:https?:\/\/|www\.)/i.test(link.displayed.trim()) && !/^[a-z0-9.-]+\.[a-z]{2,}(?:\/\S*)?$/i.test(link.displayed.trim())) return undefined;
  if (registrableDomain(shownHost) === registrableDomain(link.host)) return undefined;
  return shownHost;
}

export function isIpHost(host: string): boolean {
  return isIpAddress(host);
}

/** hxxp(s)://host[.]tld/path — the usual defanging; IPs and email domains alike. */
export function defangUrl(url: string): string {
  return url.replace(/^http/i, 'hxxp').replace(/^(hxxps?:\/\/[^/?#]*)/i, (authority) => authority.replace(/\./g, '[.]'));
}

export function defangDomain(domain: string): string {
  return domain.replace(/\./g, '[.]');
}

export function defangEmail(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${defangDomain(address.slice(at + 1))}`;
}
