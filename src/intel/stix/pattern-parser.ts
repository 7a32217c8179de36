import { RiposteError } from '../../core/index.ts';
import type { Comparison, ComparisonExpression, ComparisonOperator, Literal, ObjectPath, ObservationExpression, PathStep } from './pattern-ast.ts';

/**
 * A hand-written lexer and recursive-descent parser for the STIX 2.1 patterning grammar (STIX 2.1 §9 and its
 * ANTLR grammar): observation operators FOLLOWEDBY < OR < AND (loosest to tightest, all left-associative),
 * postfix qualifiers, comparison OR < AND, every literal kind. Errors are `stix.pattern_invalid` RiposteErrors
 * whose details carry the offset, line, column and the tokens that would have been accepted there.
 */

export interface ParsePatternOptions {
  /** '2.0' also accepts plain string timestamps in START/STOP, as STIX 2.0 wrote them. */
  stixVersion?: '2.0' | '2.1';
}

type TokenKind = 'ident' | 'keyword' | 'string' | 'int' | 'float' | 'bool' | 'binary' | 'hex' | 'timestamp' | 'punct' | 'eof';

interface Token {
  kind: TokenKind;
  /** The keyword/punctuation spelling, the identifier, or the decoded literal text. */
  text: string;
  offset: number;
  end: number;
  literal?: Literal;
}

// Upper case only, as in the grammar; LAST is reserved though unused. `true`/`false` are literals.
const KEYWORDS = new Set([
  'LAST',
  'AND',
  'OR',
  'NOT',
  'FOLLOWEDBY',
  'LIKE',
  'MATCHES',
  'ISSUBSET',
  'ISSUPERSET',
  'IN',
  'EXISTS',
  'START',
  'STOP',
  'SECONDS',
  'WITHIN',
  'REPEATS',
  'TIMES',
]);
const MAX_NESTING = 256;
/** Observation operators and qualifiers per pattern: their evaluation nests, so their number is bounded. */
const MAX_OBSERVATION_OPERATORS = 1000;

const hexHash = (length: number) => new RegExp(`^[0-9a-fA-F]{${length}}$`);
/** Hash algorithms of the STIX hash-algorithm-ov vocabulary (and common spellings) with a checkable shape. */
const HASH_SHAPES: Record<string, RegExp> = {
  MD5: hexHash(32),
  'SHA-1': hexHash(40),
  SHA1: hexHash(40),
  'SHA-256': hexHash(64),
  SHA256: hexHash(64),
  'SHA-512': hexHash(128),
  SHA512: hexHash(128),
  'SHA3-256': hexHash(64),
  'SHA3-512': hexHash(128),
  SSDEEP: /^\d+:[A-Za-z0-9/+]+:[A-Za-z0-9/+]+(?:,.*)?$/,
  TLSH: /^(?:T1)?[0-9a-fA-F]{70}$/,
};

/** The grammar's WS set: ASCII space and controls, NEL, NBSP and the Unicode space separators. */
function isWhitespace(code: number): boolean {
  if (code === 32 || (code >= 9 && code <= 13)) return true;
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

function isIdentifierStart(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95;
}

function isIdentifierPart(code: number): boolean {
  return isIdentifierStart(code) || (code >= 48 && code <= 57) || code === 45;
}
const TIMESTAMP = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?Z$/;
// The grammar wants at least one base64 group: b'' is not a binary literal.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;

export function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export function patternError(source: string, offset: number, message: string, expected: string[] = []): RiposteError {
  const { line, column } = lineAndColumn(source, offset);
  const expectedText = expected.length > 0 ? ` (expected ${expected.join(', ')})` : '';
  return new RiposteError('stix.pattern_invalid', `pattern: ${message}${expectedText} at line ${line} column ${column} (offset ${offset})`, {
    status: 400,
    details: { offset, line, column, expected },
  });
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const timestampCache = new Map<string, number | undefined>();

/** Parses an RFC 3339 UTC timestamp as STIX writes it; undefined when the text is not one. */
export function parseStixTimestamp(text: string): number | undefined {
  // Feeds repeat the same timestamps (valid_from, created) across thousands of objects.
  const cached = timestampCache.get(text);
  if (cached !== undefined || timestampCache.has(text)) return cached;
  const m = TIMESTAMP.exec(text);
  let value: number | undefined;
  if (m) {
    const [, y, mo, d, h, mi, sec, frac] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const daysInMonth = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
    if (day <= daysInMonth) value = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(sec)) + (frac ? Number(`0${frac}`) * 1000 : 0);
  }
  if (timestampCache.size >= 1024) timestampCache.clear();
  timestampCache.set(text, value);
  return value;
}

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

class Lexer {
  private position = 0;
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }

  private fail(offset: number, message: string, expected: string[] = []): never {
    throw patternError(this.source, offset, message, expected);
  }

  private skipTrivia(): void {
    const s = this.source;
    while (this.position < s.length) {
      const c = s[this.position] as string;
      if (isWhitespace(s.charCodeAt(this.position))) {
        this.position++;
      } else if (c === '/' && s[this.position + 1] === '*') {
        const close = s.indexOf('*/', this.position + 2);
        if (close < 0) this.fail(this.position, 'unterminated comment', ["'*/'"]);
        this.position = close + 2;
      } else if (c === '/' && s[this.position + 1] === '/') {
        const newline = s.indexOf('\n', this.position);
        this.position = newline < 0 ? s.length : newline + 1;
      } else {
        return;
      }
    }
  }

  /** Reads the body of a quoted literal starting at the opening quote; returns the unescaped text. */
  private quoted(start: number, allowEscapes: boolean): { text: string; end: number } {
    const s = this.source;
    let i = start + 1;
    // Fast path: no backslash before the closing quote, so the text is a plain slice.
    const close = s.indexOf("'", i);
    if (close >= 0) {
      const backslash = s.indexOf('\\', i);
      if (backslash < 0 || backslash > close) return { text: s.slice(i, close), end: close + 1 };
    }
    let text = '';
    while (i < s.length) {
      const c = s[i] as string;
      if (c === "'") return { text, end: i + 1 };
      if (c === '\\' && allowEscapes) {
        const next = s[i + 1];
        if (next === "'" || next === '\\') {
          text += next;
          i += 2;
          continue;
        }
        this.fail(i, next === undefined ? 'unterminated string literal' : `invalid escape \\${next} in string literal`, ["\\'", '\\\\']);
      }
      text += c;
      i++;
    }
    return this.fail(start, 'unterminated string literal', ["closing '"]);
  }

  next(): Token {
    this.skipTrivia();
    const s = this.source;
    const start = this.position;
    if (start >= s.length) return { kind: 'eof', text: '<end of pattern>', offset: start, end: start };
    const c = s[start] as string;

    // Prefixed literals: t'…', h'…', b'…'
    if ((c === 't' || c === 'h' || c === 'b') && s[start + 1] === "'") {
      const { text, end } = this.quoted(start + 1, false);
      this.position = end;
      if (c === 't') {
        const epochMs = parseStixTimestamp(text);
        if (epochMs === undefined) this.fail(start, `invalid timestamp literal t'${text}'`, ["t'YYYY-MM-DDTHH:MM:SS[.s+]Z'"]);
        return { kind: 'timestamp', text, offset: start, end, literal: { kind: 'timestamp', value: text, epochMs, offset: start } };
      }
      if (c === 'h') {
        if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) this.fail(start, `invalid hex literal h'${text}'`, ['pairs of hex digits']);
        const value = text.toLowerCase();
        return { kind: 'hex', text, offset: start, end, literal: { kind: 'hex', value, bytes: hexBytes(value), offset: start } };
      }
      if (!BASE64.test(text)) this.fail(start, `invalid binary literal b'${text}'`, ['base64 text']);
      return {
        kind: 'binary',
        text,
        offset: start,
        end,
        literal: { kind: 'binary', value: text, bytes: new Uint8Array(Buffer.from(text, 'base64')), offset: start },
      };
    }
    if (isIdentifierStart(s.charCodeAt(start))) {
      let i = start + 1;
      while (i < s.length && isIdentifierPart(s.charCodeAt(i))) i++;
      const text = s.slice(start, i);
      this.position = i;
      if (text === 'true' || text === 'false')
        return { kind: 'bool', text, offset: start, end: i, literal: { kind: 'bool', value: text === 'true', offset: start } };
      return { kind: KEYWORDS.has(text) ? 'keyword' : 'ident', text, offset: start, end: i };
    }
    if (c === "'") {
      const { text, end } = this.quoted(start, true);
      this.position = end;
      return { kind: 'string', text, offset: start, end, literal: { kind: 'string', value: text, offset: start } };
    }
    const isDigit = (ch: string | undefined) => ch !== undefined && ch >= '0' && ch <= '9';
    if (
      isDigit(c) ||
      ((c === '+' || c === '-') && (isDigit(s[start + 1]) || (s[start + 1] === '.' && isDigit(s[start + 2])))) ||
      (c === '.' && isDigit(s[start + 1]) && this.numberAllowedAfterDot(start))
    ) {
      let i = start;
      if (c === '+' || c === '-') i++;
      const digitsStart = i;
      while (isDigit(s[i])) i++;
      const intDigits = s.slice(digitsStart, i);
      if (s[i] === '.' && isDigit(s[i + 1])) {
        i++;
        while (isDigit(s[i])) i++;
        const text = s.slice(start, i);
        this.position = i;
        return { kind: 'float', text, offset: start, end: i, literal: { kind: 'float', value: Number(text), offset: start } };
      }
      if (intDigits.length > 1 && intDigits[0] === '0') this.fail(start, `integer literal ${s.slice(start, i)} has a leading zero`);
      const text = s.slice(start, i);
      this.position = i;
      const value = Number(text);
      if (!Number.isSafeInteger(value)) this.fail(start, `integer literal ${text} is too large`);
      return { kind: 'int', text, offset: start, end: i, literal: { kind: 'int', value, offset: start } };
    }
    const two = s.slice(start, start + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=' || two === '==') {
      this.position = start + 2;
      return { kind: 'punct', text: two === '<>' ? '!=' : two === '==' ? '=' : two, offset: start, end: start + 2 };
    }
    if ('[]():.,=<>*'.includes(c)) {
      this.position = start + 1;
      return { kind: 'punct', text: c, offset: start, end: start + 1 };
    }
    return this.fail(start, `unexpected character ${JSON.stringify(c)}`);
  }

  /** A bare '.5' is a float only where a literal can start, never inside an object path. */
  private numberAllowedAfterDot(start: number): boolean {
    let i = start - 1;
    while (i >= 0 && isWhitespace(this.source.charCodeAt(i))) i--;
    const previous = this.source[i];
    return previous === undefined || '=<>(,!'.includes(previous) || i < start - 1;
  }
}

class Parser {
  private readonly lexer: Lexer;
  private token: Token;
  private depth = 0;
  private observationOperators = 0;
  private readonly source: string;
  private readonly version: '2.0' | '2.1';

  constructor(source: string, options: ParsePatternOptions) {
    this.source = source;
    this.version = options.stixVersion ?? '2.1';
    this.lexer = new Lexer(source);
    this.token = this.lexer.next();
  }

  private fail(token: Token, message: string, expected: string[]): never {
    throw patternError(this.source, token.offset, message, expected);
  }

  private unexpected(expected: string[]): never {
    const t = this.token;
    const found = t.kind === 'eof' ? 'end of pattern' : t.kind === 'string' ? `string '${t.text}'` : JSON.stringify(this.source.slice(t.offset, t.end));
    return this.fail(t, `unexpected ${found}`, expected);
  }

  private advance(): Token {
    const current = this.token;
    this.token = this.lexer.next();
    return current;
  }

  private is(kind: TokenKind, text?: string): boolean {
    return this.token.kind === kind && (text === undefined || this.token.text === text);
  }

  private expectPunct(text: string, expected: string[] = [`'${text}'`]): Token {
    if (!this.is('punct', text)) this.unexpected(expected);
    return this.advance();
  }

  private countObservationOperator(): void {
    this.observationOperators++;
    if (this.observationOperators > MAX_OBSERVATION_OPERATORS) {
      this.fail(
        this.token,
        `more than ${MAX_OBSERVATION_OPERATORS} observation operators and qualifiers (write long indicator lists inside one [ … ] with OR or IN)`,
        [],
      );
    }
  }

  private enter(): void {
    this.depth++;
    if (this.depth > MAX_NESTING) this.fail(this.token, `nesting deeper than ${MAX_NESTING} levels`, []);
  }

  parse(): ObservationExpression {
    const expression = this.observationFollowedBy();
    if (!this.is('eof')) this.unexpected(['AND', 'OR', 'FOLLOWEDBY', 'WITHIN', 'REPEATS', 'START', 'end of pattern']);
    return expression;
  }

  private observationFollowedBy(): ObservationExpression {
    let left = this.observationOr();
    while (this.is('keyword', 'FOLLOWEDBY')) {
      this.countObservationOperator();
      const op = this.advance();
      left = { kind: 'followedby', left, right: this.observationOr(), offset: op.offset };
    }
    return left;
  }

  private observationOr(): ObservationExpression {
    let left = this.observationAnd();
    while (this.is('keyword', 'OR')) {
      this.countObservationOperator();
      const op = this.advance();
      left = { kind: 'or', left, right: this.observationAnd(), offset: op.offset };
    }
    return left;
  }

  private observationAnd(): ObservationExpression {
    let left = this.qualifiedObservation();
    while (this.is('keyword', 'AND')) {
      this.countObservationOperator();
      const op = this.advance();
      left = { kind: 'and', left, right: this.qualifiedObservation(), offset: op.offset };
    }
    return left;
  }

  private qualifiedObservation(): ObservationExpression {
    let expression = this.observationPrimary();
    // On a bracketed observation a qualifier type may appear once (as the reference validator rules);
    // a parenthesised group may be qualified again.
    const seen = expression.kind === 'observation' ? new Set<string>() : undefined;
    for (;;) {
      const t = this.token;
      if (t.kind === 'keyword' && (t.text === 'WITHIN' || t.text === 'REPEATS' || t.text === 'START')) this.countObservationOperator();
      if (seen && t.kind === 'keyword' && (t.text === 'WITHIN' || t.text === 'REPEATS' || t.text === 'START')) {
        if (seen.has(t.text))
          this.fail(
            t,
            `duplicate ${t.text === 'START' ? 'START/STOP' : t.text} qualifier on one observation expression (group it in parentheses to qualify again)`,
            [],
          );
        seen.add(t.text);
      }
      if (this.is('keyword', 'WITHIN')) {
        this.advance();
        const n = this.token;
        if ((n.kind !== 'int' && n.kind !== 'float') || (n.literal?.value as number) <= 0) this.unexpected(['a positive number of seconds']);
        this.advance();
        if (!this.is('keyword', 'SECONDS')) this.unexpected(['SECONDS']);
        this.advance();
        expression = { kind: 'within', seconds: n.literal?.value as number, expression, offset: t.offset };
      } else if (this.is('keyword', 'REPEATS')) {
        this.advance();
        const n = this.token;
        if (n.kind !== 'int' || (n.literal?.value as number) <= 0) this.unexpected(['a positive integer']);
        this.advance();
        if (!this.is('keyword', 'TIMES')) this.unexpected(['TIMES']);
        this.advance();
        expression = { kind: 'repeats', times: n.literal?.value as number, expression, offset: t.offset };
      } else if (this.is('keyword', 'START')) {
        this.advance();
        const start = this.qualifierTimestamp();
        if (!this.is('keyword', 'STOP')) this.unexpected(['STOP']);
        this.advance();
        const stop = this.qualifierTimestamp();
        expression = { kind: 'start-stop', start, stop, expression, offset: t.offset };
      } else {
        return expression;
      }
    }
  }

  private qualifierTimestamp(): Literal & { kind: 'timestamp' } {
    const t = this.token;
    if (t.kind === 'timestamp') {
      this.advance();
      return t.literal as Literal & { kind: 'timestamp' };
    }
    if (t.kind === 'string' && this.version === '2.0') {
      const epochMs = parseStixTimestamp(t.text);
      if (epochMs === undefined) this.fail(t, `invalid timestamp '${t.text}'`, ["'YYYY-MM-DDTHH:MM:SS[.s+]Z'"]);
      this.advance();
      return { kind: 'timestamp', value: t.text, epochMs, offset: t.offset };
    }
    return this.unexpected(["timestamp literal t'…'"]);
  }

  private observationPrimary(): ObservationExpression {
    const t = this.token;
    if (this.is('punct', '[')) {
      this.advance();
      this.enter();
      const comparison = this.comparisonOr();
      this.depth--;
      this.expectPunct(']', ["']'", 'AND', 'OR']);
      return { kind: 'observation', comparison, offset: t.offset };
    }
    if (this.is('punct', '(')) {
      this.advance();
      this.enter();
      const inner = this.observationFollowedBy();
      this.depth--;
      this.expectPunct(')', ["')'", 'AND', 'OR', 'FOLLOWEDBY', 'WITHIN', 'REPEATS', 'START']);
      return inner;
    }
    return this.unexpected(["'['", "'('"]);
  }

  private comparisonOr(): ComparisonExpression {
    let left = this.comparisonAnd();
    while (this.is('keyword', 'OR')) {
      const op = this.advance();
      left = { kind: 'comparison-or', left, right: this.comparisonAnd(), offset: op.offset };
    }
    return left;
  }

  private comparisonAnd(): ComparisonExpression {
    let left = this.comparisonPrimary();
    while (this.is('keyword', 'AND')) {
      const op = this.advance();
      left = { kind: 'comparison-and', left, right: this.comparisonPrimary(), offset: op.offset };
    }
    return left;
  }

  private comparisonPrimary(): ComparisonExpression {
    const t = this.token;
    if (this.is('punct', '(')) {
      this.advance();
      this.enter();
      const inner = this.comparisonOr();
      this.depth--;
      this.expectPunct(')', ["')'", 'AND', 'OR']);
      return inner;
    }
    if (this.is('keyword', 'NOT') || this.is('keyword', 'EXISTS')) {
      const negated = this.is('keyword', 'NOT');
      if (negated) {
        this.advance();
        if (!this.is('keyword', 'EXISTS')) this.unexpected(['EXISTS']);
      }
      this.advance();
      const path = this.objectPath();
      return { kind: 'comparison', path, operator: 'EXISTS', negated, offset: t.offset };
    }
    const path = this.objectPath();
    let negated = false;
    if (this.is('keyword', 'NOT')) {
      negated = true;
      this.advance();
    }
    const operatorToken = this.token;
    const operators = ['=', '!=', '<', '<=', '>', '>=', 'IN', 'LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET'];
    const operator = operatorToken.text as ComparisonOperator;
    if (!((operatorToken.kind === 'punct' || operatorToken.kind === 'keyword') && operators.includes(operator))) {
      this.unexpected(negated ? operators.map((o) => `'${o}'`) : ["'.'", "'['", ...operators.map((o) => `'${o}'`), 'NOT']);
    }
    this.advance();
    const comparison: Comparison = { kind: 'comparison', path, operator, negated, offset: t.offset };
    if (operator === 'IN') {
      comparison.value = this.setLiteral();
      for (const literal of comparison.value) this.checkHashLiteral(path, literal);
    } else if (operator === 'LIKE' || operator === 'MATCHES' || operator === 'ISSUBSET' || operator === 'ISSUPERSET') {
      if (!this.is('string')) this.unexpected(['string literal']);
      comparison.value = this.advance().literal as Literal;
    } else if (operator === '=' || operator === '!=') {
      comparison.value = this.primitiveLiteral();
      this.checkHashLiteral(path, comparison.value);
    } else {
      const literal = this.primitiveLiteral();
      if (literal.kind === 'bool')
        this.fail(operatorToken, `${operator} needs an orderable literal (number, string, timestamp, binary or hex), not a boolean`, ['orderable literal']);
      comparison.value = literal;
    }
    return comparison;
  }

  /** `hashes.<algorithm>` compared for equality must hold a well-formed hash of that algorithm. */
  private checkHashLiteral(path: ObjectPath, literal: Literal): void {
    const [first, second] = path.steps;
    if (path.steps.length !== 2 || first?.kind !== 'property' || first.name !== 'hashes' || second?.kind !== 'property' || literal.kind !== 'string') return;
    const shape = HASH_SHAPES[second.name.toUpperCase().replace(/_/g, '-')];
    if (shape && !shape.test(literal.value)) {
      throw patternError(this.source, literal.offset, `'${literal.value}' is not a valid ${second.name} hash`, [`a ${second.name} hash`]);
    }
  }

  private primitiveLiteral(): Literal {
    const t = this.token;
    if (t.literal) {
      this.advance();
      return t.literal;
    }
    return this.unexpected(['literal']);
  }

  private setLiteral(): Literal[] {
    this.expectPunct('(', ["'('"]);
    const values: Literal[] = [];
    if (this.is('punct', ')')) {
      this.advance();
      return values;
    }
    for (;;) {
      values.push(this.primitiveLiteral());
      if (this.is('punct', ',')) {
        this.advance();
        continue;
      }
      this.expectPunct(')', ["','", "')'"]);
      return values;
    }
  }

  private objectPath(): ObjectPath {
    const typeToken = this.token;
    if (typeToken.kind !== 'ident') this.unexpected(['object type', "'('", 'EXISTS', 'NOT']);
    this.advance();
    this.expectPunct(':', ["':'"]);
    const steps: PathStep[] = [{ kind: 'property', name: this.propertyName() }];
    for (;;) {
      if (this.is('punct', '.')) {
        this.advance();
        steps.push({ kind: 'property', name: this.propertyName() });
      } else if (this.is('punct', '[')) {
        this.advance();
        const t = this.token;
        if (this.is('punct', '*')) {
          this.advance();
          steps.push({ kind: 'any-index' });
        } else if (t.kind === 'int') {
          this.advance();
          steps.push({ kind: 'index', index: t.literal?.value as number });
        } else {
          this.unexpected(['list index', "'*'"]);
        }
        this.expectPunct(']', ["']'"]);
      } else {
        return { objectType: typeToken.text, steps, offset: typeToken.offset };
      }
    }
  }

  private propertyName(): string {
    const t = this.token;
    if (t.kind === 'string') {
      this.advance();
      return t.text;
    }
    if (t.kind === 'ident') {
      if (t.text.includes('-')) this.fail(t, `property name ${t.text} contains '-': quote it as '${t.text}'`, ['property name', 'quoted property name']);
      this.advance();
      return t.text;
    }
    return this.unexpected(['property name', 'quoted property name']);
  }
}

/** Parses a STIX pattern into its syntax tree; throws a positioned `stix.pattern_invalid` error otherwise. */
export function parsePattern(source: string, options: ParsePatternOptions = {}): ObservationExpression {
  if (typeof source !== 'string')
    throw new RiposteError('stix.pattern_invalid', 'pattern: must be a string', { status: 400, details: { offset: 0, line: 1, column: 1, expected: [] } });
  return new Parser(source, options).parse();
}
