import { RiposteError } from '../../core/index.ts';

/**
 * A deliberately small XML reader for PAN-OS API answers (`<response status="…"><result>…`): elements,
 * attributes, text and CDATA. It refuses DOCTYPE and entity declarations outright and decodes only the
 * five predefined entities and numeric character references, so no entity expansion (billion laughs,
 * external entities) is possible; size and depth are capped. Anything else is a clear parse error.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element (trimmed). */
  text: string;
}

const MAX_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 64;
const NAME = /[A-Za-z_][\w.:-]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export class XmlParseError extends Error {}

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]+);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new XmlParseError('bare "&" in text');
    if (ref.startsWith('#x') || ref.startsWith('#')) {
      const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff || code === 0) throw new XmlParseError(`bad character reference ${whole}`);
      return String.fromCodePoint(code);
    }
    const known = PREDEFINED[ref];
    if (known === undefined) throw new XmlParseError(`undeclared entity ${whole} (entities are not expanded)`);
    return known;
  });
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${Object.entries(PREDEFINED).find(([, v]) => v === c)?.[0]};`);
}

export function parseXml(input: string): XmlElement {
  if (input.length > MAX_BYTES) throw new XmlParseError('document is larger than 4 MiB');
  let i = 0;
  const fail = (message: string): never => {
    throw new XmlParseError(`${message} at offset ${i}`);
  };
  const skipSpace = () => {
    while (i < input.length && /\s/.test(input[i] as string)) i++;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(input);
    if (!m) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  // Prolog: optional XML declaration, comments; no DOCTYPE.
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (input.startsWith('<?', i)) {
        const end = input.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (input.startsWith('<!--', i)) {
        const end = input.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (input.startsWith('<!DOCTYPE', i) || input.startsWith('<!ENTITY', i)) {
        fail('DOCTYPE and entity declarations are refused');
      } else return;
    }
  };
  const element = (depth: number): XmlElement => {
    if (depth > MAX_DEPTH) fail('elements nested too deeply');
    if (input[i] !== '<') fail('expected "<"');
    i++;
    const tag = name();
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (input.startsWith('/>', i)) {
        i += 2;
        return { name: tag, attributes, children: [], text: '' };
      }
      if (input[i] === '>') {
        i++;
        break;
      }
      const attr = name();
      skipSpace();
      if (input[i] !== '=') fail(`expected "=" after attribute ${attr}`);
      i++;
      skipSpace();
      const quote = input[i];
      if (quote !== '"' && quote !== "'") fail('attribute values must be quoted');
      const end = input.indexOf(quote as string, i + 1);
      if (end < 0) fail('unterminated attribute value');
      const raw = input.slice(i + 1, end);
      if (raw.includes('<')) fail('"<" inside an attribute value');
      attributes[attr] = decodeEntities(raw);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (i >= input.length) fail(`unterminated element <${tag}>`);
      if (input.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== tag) fail(`</${closing}> closes <${tag}>`);
        skipSpace();
        if (input[i] !== '>') fail('expected ">"');
        i++;
        return { name: tag, attributes, children, text: text.trim() };
      }
      if (input.startsWith('<![CDATA[', i)) {
        const end = input.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        text += input.slice(i + 9, end);
        i = end + 3;
      } else if (input.startsWith('<!--', i)) {
        const end = input.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (input.startsWith('<!', i) || input.startsWith('<?', i)) {
        fail('declarations are not allowed inside elements');
      } else if (input[i] === '<') {
        children.push(element(depth + 1));
      } else {
        const next = input.indexOf('<', i);
        const end = next < 0 ? input.length : next;
        text += decodeEntities(input.slice(i, end));
        i = end;
      }
    }
  };
  skipMisc();
  const root = element(0);
  skipMisc();
  if (i < input.length) fail('content after the root element');
  return root;
}

/** The first descendant reached by a path of element names (`result/job/status`). */
export function child(element: XmlElement | undefined, path: string): XmlElement | undefined {
  let node = element;
  for (const part of path.split('/')) {
    node = node?.children.find((c) => c.name === part);
    if (!node) return undefined;
  }
  return node;
}

/** Every text below an element, lines joined (PAN-OS puts messages in <msg><line>…</line></msg>). */
export function allText(element: XmlElement | undefined): string {
  if (!element) return '';
  return [element.text, ...element.children.map(allText)].filter((t) => t !== '').join(' ');
}

export function xmlError(vendor: string, message: string, cause?: unknown): RiposteError {
  return new RiposteError('integration.bad_response', `${vendor} answered with XML that cannot be read: ${message}`, { status: 502, cause });
}
