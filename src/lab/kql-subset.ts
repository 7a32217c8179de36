/**
 * Just enough Kusto (KQL) for the Defender simulator to answer advanced hunting queries over the simulated
 * fleet: a table, then `where`, `extend`, `project`, `take`/`limit`; expressions with and/or/not, the string
 * operators hunts use (==, !=, =~, !~, contains, startswith, endswith and their _cs forms, has, in, in~,
 * matches regex), comparisons and the functions iff, isempty, isnotempty, isnull, isnotnull, strcat,
 * tostring, todouble, tolower, ipv4_is_in_range. Anything else is a KqlError, answered as the 400 Defender
 * gives for a query it cannot run.
 */

export class KqlError extends Error {}

export type KqlValue = string | number | boolean | null;
export type KqlRow = Record<string, KqlValue>;

type Token = { kind: 'string' | 'number' | 'ident' | 'op'; text: string; value?: KqlValue };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && query[i + 1] === '/') {
      while (i < query.length && query[i] !== '\n') i++;
      continue;
    }
    if ((c === '@' && (query[i + 1] === '"' || query[i + 1] === "'")) || c === '"' || c === "'") {
      const verbatim = c === '@';
      const quote = verbatim ? (query[i + 1] as string) : c;
      let j = verbatim ? i + 2 : i + 1;
      let text = '';
      for (;;) {
        if (j >= query.length) throw new KqlError('unterminated string literal');
        const d = query[j] as string;
        if (verbatim && d === quote && query[j + 1] === quote) {
          text += quote;
          j += 2;
        } else if (d === quote) {
          j++;
          break;
        } else if (!verbatim && d === '\\') {
          const e = query[j + 1] ?? '';
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else {
          text += d;
          j++;
        }
      }
      tokens.push({ kind: 'string', text, value: text });
      i = j;
      continue;
    }
    const number = /^\d+(\.\d+)?/.exec(query.slice(i));
    if (number) {
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*(~)?/.exec(query.slice(i));
    if (word) {
      tokens.push({ kind: 'ident', text: word[0] });
      i += word[0].length;
      continue;
    }
    const op = /^(==|!=|=~|!~|>=|<=|[=<>(),|!*])/.exec(query.slice(i));
    if (!op) throw new KqlError(`unexpected character ${JSON.stringify(c)}`);
    tokens.push({ kind: 'op', text: op[0] });
    i += op[0].length;
  }
  return tokens;
}

type Expr = (row: KqlRow) => KqlValue;

const STRING_OPERATORS = new Set([
  'contains',
  'contains_cs',
  '!contains',
  'startswith',
  'startswith_cs',
  'endswith',
  'endswith_cs',
  'has',
  'has_cs',
  'in',
  'in~',
  'matches',
]);

function str(v: KqlValue): string {
  return v === null ? '' : String(v);
}

function jsRegex(source: string): RegExp {
  const inline = /^\(\?([ims]+)\)/.exec(source);
  const flags = inline ? [...new Set((inline[1] as string).split(''))].join('') : '';
  return new RegExp(inline ? source.slice(inline[0].length) : source, flags);
}

function ipv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  return m.slice(1).reduce((acc, part) => acc * 256 + Number(part), 0);
}

class Parser {
  private pos = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }
  next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new KqlError('unexpected end of query');
    return t;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.text !== text) throw new KqlError(`expected "${text}" but found "${t.text}"`);
  }
  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  expression(): Expr {
    let left = this.conjunction();
    while (this.peek()?.text === 'or') {
      this.next();
      const l = left;
      const r = this.conjunction();
      left = (row) => Boolean(l(row)) || Boolean(r(row));
    }
    return left;
  }
  conjunction(): Expr {
    let left = this.comparison();
    while (this.peek()?.text === 'and') {
      this.next();
      const l = left;
      const r = this.comparison();
      left = (row) => Boolean(l(row)) && Boolean(r(row));
    }
    return left;
  }
  comparison(): Expr {
    const left = this.primary();
    const t = this.peek();
    if (!t) return left;
    if (['==', '!=', '=~', '!~', '>', '>=', '<', '<='].includes(t.text)) {
      this.next();
      const right = this.primary();
      return (row) => {
        const a = left(row);
        const b = right(row);
        switch (t.text) {
          case '==':
            return a === b || (a !== null && b !== null && String(a) === String(b));
          case '!=':
            return !(a === b || (a !== null && b !== null && String(a) === String(b)));
          case '=~':
            return str(a).toLowerCase() === str(b).toLowerCase();
          case '!~':
            return str(a).toLowerCase() !== str(b).toLowerCase();
          case '>':
            return Number(a) > Number(b);
          case '>=':
            return Number(a) >= Number(b);
          case '<':
            return Number(a) < Number(b);
          default:
            return Number(a) <= Number(b);
        }
      };
    }
    if (t.kind === 'ident' && STRING_OPERATORS.has(t.text)) {
      this.next();
      if (t.text === 'in' || t.text === 'in~') {
        this.expect('(');
        const items: Expr[] = [];
        while (this.peek()?.text !== ')') {
          items.push(this.primary());
          if (this.peek()?.text === ',') this.next();
        }
        this.expect(')');
        const fold = t.text === 'in~';
        return (row) => {
          const a = str(left(row));
          return items.some((item) => (fold ? str(item(row)).toLowerCase() === a.toLowerCase() : str(item(row)) === a));
        };
      }
      if (t.text === 'matches') {
        const regexWord = this.next();
        if (regexWord.text !== 'regex') throw new KqlError('expected "regex" after "matches"');
        const pattern = this.next();
        if (pattern.kind !== 'string') throw new KqlError('matches regex needs a string literal');
        const regex = jsRegex(pattern.text);
        return (row) => regex.test(str(left(row)));
      }
      const right = this.primary();
      const cs = t.text.endsWith('_cs');
      const op = t.text.replace('_cs', '');
      return (row) => {
        let a = str(left(row));
        let b = str(right(row));
        if (!cs) {
          a = a.toLowerCase();
          b = b.toLowerCase();
        }
        if (op === 'contains') return a.includes(b);
        if (op === '!contains') return !a.includes(b);
        if (op === 'startswith') return a.startsWith(b);
        if (op === 'endswith') return a.endsWith(b);
        return a.split(/[^a-z0-9_]+/i).includes(b);
      };
    }
    return left;
  }
  primary(): Expr {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'number') {
      const v = t.value as KqlValue;
      return () => v;
    }
    if (t.text === '(') {
      const inner = this.expression();
      this.expect(')');
      return inner;
    }
    if (t.kind !== 'ident') throw new KqlError(`unexpected "${t.text}"`);
    if (t.text === 'true' || t.text === 'false') {
      const v = t.text === 'true';
      return () => v;
    }
    if (this.peek()?.text === '(') {
      this.next();
      const args: Expr[] = [];
      while (this.peek()?.text !== ')') {
        args.push(this.expression());
        if (this.peek()?.text === ',') this.next();
      }
      this.expect(')');
      return this.call(t.text, args);
    }
    const name = t.text;
    return (row) => {
      if (!Object.hasOwn(row, name)) throw new KqlError(`Failed to resolve scalar expression named '${name}'`);
      return row[name] as KqlValue;
    };
  }
  call(name: string, args: Expr[]): Expr {
    const arg = (i: number) => args[i] ?? (() => null);
    switch (name) {
      case 'not':
        return (row) => !arg(0)(row);
      case 'isempty':
        return (row) => str(arg(0)(row)) === '';
      case 'isnotempty':
        return (row) => str(arg(0)(row)) !== '';
      case 'isnull':
        return (row) => arg(0)(row) === null;
      case 'isnotnull':
        return (row) => arg(0)(row) !== null;
      case 'strcat':
        return (row) => args.map((a) => str(a(row))).join('');
      case 'tostring':
        return (row) => str(arg(0)(row));
      case 'tolower':
        return (row) => str(arg(0)(row)).toLowerCase();
      case 'todouble':
        return (row) => {
          const n = Number(arg(0)(row));
          return Number.isFinite(n) ? n : null;
        };
      case 'iff':
        return (row) => (arg(0)(row) ? arg(1)(row) : arg(2)(row));
      case 'ipv4_is_in_range':
        return (row) => {
          const ip = ipv4(str(arg(0)(row)));
          const [net, bits] = str(arg(1)(row)).split('/');
          const base = ipv4(net ?? '');
          const prefix = Number(bits ?? 32);
          if (ip === undefined || base === undefined) return false;
          const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
          return (ip & mask) >>> 0 === (base & mask) >>> 0;
        };
      default:
        throw new KqlError(`unknown function ${name}()`);
    }
  }
}

/** Runs a query against named tables; returns the result rows (at most `maxRows`). */
export function runKql(query: string, tables: Record<string, () => KqlRow[]>, maxRows = 100_000): KqlRow[] {
  const segments: Token[][] = [[]];
  for (const token of tokenize(query)) {
    if (token.kind === 'op' && token.text === '|') segments.push([]);
    else (segments[segments.length - 1] as Token[]).push(token);
  }
  const [source = [], ...operators] = segments;
  const name = source.length === 1 && source[0]?.kind === 'ident' ? source[0].text : undefined;
  if (name === undefined) throw new KqlError('a query starts with a table name');
  const table = tables[name];
  if (!table) throw new KqlError(`Failed to resolve table or column expression named '${name}'`);
  let rows = table();
  for (const tokens of operators) {
    const parser = new Parser(tokens);
    const op = parser.next().text;
    if (op === 'where') {
      const predicate = parser.expression();
      rows = rows.filter((row) => Boolean(predicate(row)));
    } else if (op === 'extend') {
      const assignments: Array<[string, Expr]> = [];
      do {
        const name = parser.next().text;
        parser.expect('=');
        assignments.push([name, parser.expression()]);
      } while (parser.peek()?.text === ',' && parser.next());
      rows = rows.map((row) => {
        const out = { ...row };
        for (const [name, expr] of assignments) out[name] = expr(out);
        return out;
      });
    } else if (op === 'project') {
      const names: string[] = [];
      do names.push(parser.next().text);
      while (parser.peek()?.text === ',' && parser.next());
      rows = rows.map((row) => Object.fromEntries(names.map((n) => [n, row[n] ?? null])));
    } else if (op === 'take' || op === 'limit') {
      const n = parser.next();
      if (n.kind !== 'number') throw new KqlError(`${op} needs a number`);
      rows = rows.slice(0, n.value as number);
    } else {
      throw new KqlError(`operator '${op}' is not supported by the simulator`);
    }
    if (!parser.atEnd()) throw new KqlError(`unexpected "${parser.peek()?.text}" after ${op}`);
  }
  return rows.slice(0, maxRows);
}
