// Long by design: a small non-backtracking regular-expression engine; its parser and matcher belong together.
/**
 * A small regular-expression engine for patterns that tenants supply as data. Patterns are parsed into
 * a syntax tree, compiled into a Thompson NFA and run by simulating every NFA state at once: no
 * backtracking, so matching costs O(text length × pattern states) whatever the pattern — `(a+)+$` and
 * `(\w+\s?)*$` included. The syntax is the familiar JavaScript subset that stays regular: no
 * backreferences, no lookaround, no word boundaries. A pattern always describes a whole token.
 */

/** Longest pattern source accepted, and the NFA size it may compile to. */
export const MAX_PATTERN_LENGTH = 256;
export const MAX_PATTERN_STATES = 512;
/** Largest count in `{n,m}`. */
export const MAX_REPEAT = 100;

export interface LinearPattern {
  readonly source: string;
  readonly caseInsensitive: boolean;
  /** Shortest and longest text the pattern can match (`Infinity` when unbounded). */
  readonly minLength: number;
  readonly maxLength: number;
  /** True when the pattern matches all of `text`. */
  matchesWhole(text: string): boolean;
}

export type CompileResult = { ok: true; pattern: LinearPattern } | { ok: false; problem: string };

type CharTest = (code: number) => boolean;

type PatternNode =
  | { kind: 'empty' }
  | { kind: 'char'; test: CharTest }
  | { kind: 'concat'; items: PatternNode[] }
  | { kind: 'alternation'; options: PatternNode[] }
  | { kind: 'repeat'; item: PatternNode; min: number; max: number };

class PatternSyntaxError extends Error {}

const range =
  (from: number, to: number): CharTest =>
  (code) =>
    code >= from && code <= to;
const anyOf =
  (...tests: CharTest[]): CharTest =>
  (code) =>
    tests.some((test) => test(code));
const not =
  (test: CharTest): CharTest =>
  (code) =>
    !test(code);

const DIGIT = range(48, 57);
const WORD = anyOf(DIGIT, range(65, 90), range(97, 122), (code) => code === 95);
// The characters ECMAScript's \s matches (WhiteSpace and LineTerminator).
const SPACE_CODES = new Set([
  9, 10, 11, 12, 13, 32, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232,
  8233, 8239, 8287, 12288, 65279,
]);
const SPACE: CharTest = (code) => SPACE_CODES.has(code);
const LINE_TERMINATOR: CharTest = (code) => code === 10 || code === 13 || code === 8232 || code === 8233;

const CLASS_ESCAPES: Readonly<Record<string, CharTest>> = {
  d: DIGIT,
  D: not(DIGIT),
  w: WORD,
  W: not(WORD),
  s: SPACE,
  S: not(SPACE),
};
const CONTROL_ESCAPES: Readonly<Record<string, number>> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
/** Escapes that exist in JavaScript but have no place in a linear, whole-token pattern, and why. */
const REFUSED_ESCAPES: Readonly<Record<string, string>> = {
  b: 'word boundaries (\\b) are not supported: a pattern always matches a whole token',
  B: '\\B is not supported: a pattern always matches a whole token',
  k: 'named backreferences (\\k) are not supported: they cannot be matched in linear time',
  p: 'Unicode property escapes (\\p{…}) are not supported; use a character class',
  P: 'Unicode property escapes (\\P{…}) are not supported; use a character class',
  c: 'control escapes (\\c) are not supported',
};
const SYNTAX_CHARACTERS = new Set('^$\\.*+?()[]{}|/-'.split(''));

class Parser {
  private position = 0;

  constructor(private readonly source: string) {}

  parse(): PatternNode {
    let end = this.source.length;
    // Anchors only restate what whole-token matching already does, so they are allowed at the ends.
    if (this.source.startsWith('^')) this.position = 1;
    if (this.source.endsWith('$') && !this.source.endsWith('\\$') && end > this.position) end -= 1;
    const node = this.alternation(end);
    if (this.position < end) this.fail(`unexpected '${this.source[this.position]}'`);
    return node;
  }

  private fail(message: string, at = this.position): never {
    throw new PatternSyntaxError(`${message} at position ${at + 1}`);
  }

  private peek(): string | undefined {
    return this.source[this.position];
  }

  private alternation(end: number): PatternNode {
    const options = [this.sequence(end)];
    while (this.position < end && this.peek() === '|') {
      this.position += 1;
      options.push(this.sequence(end));
    }
    return options.length === 1 ? options[0]! : { kind: 'alternation', options };
  }

  private sequence(end: number): PatternNode {
    const items: PatternNode[] = [];
    while (this.position < end) {
      const character = this.peek();
      if (character === '|' || character === ')') break;
      items.push(this.quantified(end));
    }
    if (items.length === 0) return { kind: 'empty' };
    return items.length === 1 ? items[0]! : { kind: 'concat', items };
  }

  private quantified(end: number): PatternNode {
    const start = this.position;
    const item = this.atom(end);
    const quantifier = this.quantifier(end);
    if (!quantifier) return item;
    if (item.kind === 'empty') this.fail('nothing to repeat', start);
    return { kind: 'repeat', item, ...quantifier };
  }

  private quantifier(end: number): { min: number; max: number } | undefined {
    if (this.position >= end) return undefined;
    const character = this.peek();
    let bounds: { min: number; max: number } | undefined;
    if (character === '*') bounds = { min: 0, max: Infinity };
    else if (character === '+') bounds = { min: 1, max: Infinity };
    else if (character === '?') bounds = { min: 0, max: 1 };
    if (bounds) {
      this.position += 1;
    } else if (character === '{') {
      const match = /^\{(\d{1,4})(?:(,)(\d{1,4})?)?\}/.exec(this.source.slice(this.position, end));
      if (!match) this.fail("'{' does not start a valid {n}, {n,} or {n,m} count; write \\{ for a brace");
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === undefined ? Infinity : Number(match[3]);
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
        this.fail(`repeat counts above ${MAX_REPEAT} are not supported`);
      }
      if (max < min) this.fail(`{${min},${max}} has its numbers out of order`);
      this.position += match[0].length;
      bounds = { min, max };
    } else {
      return undefined;
    }
    // A lazy marker changes which match a backtracking engine reports, not whether a token matches.
    if (this.position < end && this.peek() === '?') this.position += 1;
    const next = this.position < end ? this.peek() : undefined;
    if (next === '*' || next === '+' || next === '?' || next === '{') {
      this.fail('a quantifier cannot follow another quantifier');
    }
    return bounds;
  }

  private atom(end: number): PatternNode {
    const character = this.peek()!;
    const start = this.position;
    switch (character) {
      case '(':
        return this.group(end);
      case '[':
        return { kind: 'char', test: this.characterClass(end) };
      case '.':
        this.position += 1;
        return { kind: 'char', test: not(LINE_TERMINATOR) };
      case '\\':
        return { kind: 'char', test: this.escape(false) };
      case '^':
      case '$':
        return this.fail(`'${character}' is only allowed at the very start or end`, start);
      case '*':
      case '+':
      case '?':
        return this.fail('nothing to repeat', start);
      case '{':
        return this.fail('write \\{ for a literal brace', start);
      case ']':
      case '}':
        return this.fail(`write \\${character} for a literal '${character}'`, start);
      default: {
        const code = this.source.codePointAt(this.position)!;
        this.position += code > 0xffff ? 2 : 1;
        return { kind: 'char', test: (candidate) => candidate === code };
      }
    }
  }

  private group(end: number): PatternNode {
    const open = this.position;
    this.position += 1;
    if (this.source.startsWith('?', this.position)) {
      const rest = this.source.slice(this.position, this.position + 3);
      if (rest.startsWith('?:')) this.position += 2;
      else if (
        rest.startsWith('?=') ||
        rest.startsWith('?!') ||
        rest.startsWith('?<=') ||
        rest.startsWith('?<!')
      ) {
        this.fail('lookaround ((?=…), (?!…), (?<=…), (?<!…)) is not supported', open);
      } else if (rest.startsWith('?<')) {
        this.fail('named groups are not supported; use (?:…)', open);
      } else {
        this.fail("unknown group type after '(?'", open);
      }
    }
    const inner = this.alternation(end);
    if (this.position >= end || this.peek() !== ')') this.fail("'(' is never closed", open);
    this.position += 1;
    return inner;
  }

  private characterClass(end: number): CharTest {
    const open = this.position;
    this.position += 1;
    const negated = this.peek() === '^';
    if (negated) this.position += 1;
    if (this.peek() === ']') this.fail('empty character class', open);
    const tests: CharTest[] = [];
    while (this.position < end && this.peek() !== ']') {
      const first = this.classMember();
      if (this.peek() === '-' && this.source[this.position + 1] !== ']' && this.position + 1 < end) {
        const dash = this.position;
        this.position += 1;
        const last = this.classMember();
        if (typeof first !== 'number' || typeof last !== 'number') {
          this.fail('a range needs a single character on both sides', dash);
        }
        if (last < first) this.fail('range out of order', dash);
        tests.push(range(first, last));
      } else {
        tests.push(typeof first === 'number' ? (code) => code === first : first);
      }
    }
    if (this.position >= end) this.fail("'[' is never closed", open);
    this.position += 1;
    const member = anyOf(...tests);
    return negated ? not(member) : member;
  }

  /** One member of a character class: a code point, or a class escape such as \d. */
  private classMember(): number | CharTest {
    if (this.peek() === '\\') {
      const escapeStart = this.position;
      const letter = this.source[this.position + 1];
      if (letter && CLASS_ESCAPES[letter]) {
        this.position += 2;
        return CLASS_ESCAPES[letter];
      }
      if (letter === 'b') this.fail('\\b inside a class is not supported', escapeStart);
      const test = this.escape(true);
      return this.lastEscapedCode ?? test;
    }
    const code = this.source.codePointAt(this.position)!;
    this.position += code > 0xffff ? 2 : 1;
    return code;
  }

  private lastEscapedCode: number | undefined;

  private escape(inClass: boolean): CharTest {
    const start = this.position;
    const letter = this.source[this.position + 1];
    this.lastEscapedCode = undefined;
    if (letter === undefined) this.fail('the pattern ends with a lone backslash', start);
    const single = (code: number, length: number): CharTest => {
      this.position += length;
      this.lastEscapedCode = code;
      return (candidate) => candidate === code;
    };
    if (!inClass && CLASS_ESCAPES[letter]) {
      this.position += 2;
      return CLASS_ESCAPES[letter];
    }
    if (/[1-9]/.test(letter)) {
      this.fail(
        `backreferences (\\${letter}) are not supported: they cannot be matched in linear time`,
        start,
      );
    }
    const refused = REFUSED_ESCAPES[letter];
    if (refused) this.fail(refused, start);
    const control = CONTROL_ESCAPES[letter];
    if (control !== undefined) return single(control, 2);
    if (letter === 'x') {
      const hex = /^[0-9a-fA-F]{2}/.exec(this.source.slice(this.position + 2));
      if (!hex) this.fail('\\x needs two hex digits', start);
      return single(parseInt(hex[0], 16), 4);
    }
    if (letter === 'u') {
      const hex = /^[0-9a-fA-F]{4}/.exec(this.source.slice(this.position + 2));
      if (!hex) this.fail('\\u needs four hex digits', start);
      return single(parseInt(hex[0], 16), 6);
    }
    if (SYNTAX_CHARACTERS.has(letter) || !/[A-Za-z0-9]/.test(letter)) {
      return single(letter.codePointAt(0)!, 1 + letter.length);
    }
    return this.fail(`unknown escape \\${letter}`, start);
  }
}

function lengthBounds(node: PatternNode): { min: number; max: number } {
  switch (node.kind) {
    case 'empty':
      return { min: 0, max: 0 };
    case 'char':
      return { min: 1, max: 1 };
    case 'concat':
      return node.items.map(lengthBounds).reduce((sum, item) => ({
        min: sum.min + item.min,
        max: sum.max + item.max,
      }));
    case 'alternation': {
      const bounds = node.options.map(lengthBounds);
      return {
        min: Math.min(...bounds.map((bound) => bound.min)),
        max: Math.max(...bounds.map((bound) => bound.max)),
      };
    }
    case 'repeat': {
      const inner = lengthBounds(node.item);
      // 0 × Infinity is NaN in JavaScript; a repeat that may match nothing, or nothing long, is bounded.
      const max =
        node.max === 0 || inner.max === 0 ? 0 : node.max === Infinity ? Infinity : inner.max * node.max;
      return { min: inner.min * node.min, max };
    }
  }
}

const CHAR = 0;
const SPLIT = 1;
const MATCH = 2;

/** Thompson NFA in flat arrays: CHAR states test a code point, SPLIT states fork, one MATCH state. */
class NfaBuilder {
  readonly kinds: number[] = [];
  readonly firstOut: number[] = [];
  readonly secondOut: number[] = [];
  readonly tests: Array<CharTest | undefined> = [];

  add(kind: number, firstOut: number, secondOut: number, test?: CharTest): number {
    if (this.kinds.length >= MAX_PATTERN_STATES) {
      throw new PatternSyntaxError(
        `the pattern is too large (more than ${MAX_PATTERN_STATES} states once its repeats are expanded)`,
      );
    }
    this.kinds.push(kind);
    this.firstOut.push(firstOut);
    this.secondOut.push(secondOut);
    this.tests.push(test);
    return this.kinds.length - 1;
  }

  /** Compiles `node` so that it continues to state `next`; returns the state that starts it. */
  compile(node: PatternNode, next: number): number {
    switch (node.kind) {
      case 'empty':
        return next;
      case 'char':
        return this.add(CHAR, next, -1, node.test);
      case 'concat':
        return node.items.reduceRight((following, item) => this.compile(item, following), next);
      case 'alternation':
        return node.options
          .map((option) => this.compile(option, next))
          .reduceRight((rest, start) => this.add(SPLIT, start, rest));
      case 'repeat': {
        let start = next;
        if (node.max === Infinity) {
          const loop = this.add(SPLIT, -1, next);
          this.firstOut[loop] = this.compile(node.item, loop);
          start = loop;
        } else {
          for (let optional = node.min; optional < node.max; optional += 1) {
            start = this.add(SPLIT, this.compile(node.item, start), next);
          }
        }
        for (let required = 0; required < node.min; required += 1) start = this.compile(node.item, start);
        return start;
      }
    }
  }
}

function caseFolded(test: CharTest): CharTest {
  return (code) => {
    if (test(code)) return true;
    const character = String.fromCodePoint(code);
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    return (
      (lower.length === character.length && test(lower.codePointAt(0)!)) ||
      (upper.length === character.length && test(upper.codePointAt(0)!))
    );
  };
}

/** Compiles a pattern, or says in one sentence what is wrong with it and where. */
export function compileLinearPattern(
  source: string,
  options: { caseInsensitive?: boolean } = {},
): CompileResult {
  if (source.length === 0) return { ok: false, problem: 'the pattern is empty' };
  if (source.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      problem: `the pattern is ${source.length} characters long; the limit is ${MAX_PATTERN_LENGTH}`,
    };
  }
  const caseInsensitive = options.caseInsensitive ?? false;
  try {
    const tree = new Parser(source).parse();
    const { min: minLength, max: maxLength } = lengthBounds(tree);
    if (minLength === 0) return { ok: false, problem: 'the pattern can match an empty token' };
    const builder = new NfaBuilder();
    const match = builder.add(MATCH, -1, -1);
    const start = builder.compile(tree, match);
    const kinds = Int8Array.from(builder.kinds);
    const firstOut = Int32Array.from(builder.firstOut);
    const secondOut = Int32Array.from(builder.secondOut);
    const tests = builder.tests.map((test) => (test && caseInsensitive ? caseFolded(test) : test));
    const size = kinds.length;
    // Matching is synchronous, so one set of work arrays per pattern is enough. `seen` marks which
    // states joined the current step's set; bumping `generation` empties every set without clearing.
    const seen = new Int32Array(size);
    const stack = new Int32Array(2 * size + 1);
    let current = new Int32Array(size);
    let next = new Int32Array(size);
    let generation = 0;
    const addClosure = (list: Int32Array, count: number, state: number): number => {
      let depth = 0;
      stack[depth++] = state;
      while (depth > 0) {
        const candidate = stack[--depth]!;
        if (seen[candidate] === generation) continue;
        seen[candidate] = generation;
        if (kinds[candidate] === SPLIT) {
          stack[depth++] = secondOut[candidate]!;
          stack[depth++] = firstOut[candidate]!;
        } else {
          list[count++] = candidate;
        }
      }
      return count;
    };
    const matchesWhole = (text: string): boolean => {
      // Lengths are in code points; a code point takes one or two UTF-16 units of `text.length`.
      if (text.length < minLength || text.length > maxLength * 2) return false;
      generation += 1;
      let count = addClosure(current, 0, start);
      for (const character of text) {
        const code = character.codePointAt(0)!;
        generation += 1;
        let nextCount = 0;
        for (let index = 0; index < count; index += 1) {
          const state = current[index]!;
          if (kinds[state] === CHAR && tests[state]!(code)) {
            nextCount = addClosure(next, nextCount, firstOut[state]!);
          }
        }
        if (nextCount === 0) return false;
        [current, next] = [next, current];
        count = nextCount;
      }
      for (let index = 0; index < count; index += 1) if (kinds[current[index]!] === MATCH) return true;
      return false;
    };
    return { ok: true, pattern: { source, caseInsensitive, minLength, maxLength, matchesWhole } };
  } catch (error) {
    if (error instanceof PatternSyntaxError) return { ok: false, problem: error.message };
    throw error;
  }
}
