import { z } from 'zod';
import {
  BUILT_IN_ENTITY_TYPES,
  PLACEHOLDER_LITERAL_TYPE,
  type EntitySpan,
  type Recognizer,
} from './entity-types';
import { compileLinearPattern, MAX_PATTERN_LENGTH, type LinearPattern } from './linear-pattern';

/** Most patterns one tenant may define; each costs one linear pass over every token. */
export const MAX_TENANT_PATTERNS = 32;
/** Tokens longer than this are never tested against tenant patterns: identifiers are short. */
export const MAX_TOKEN_LENGTH = 256;

/**
 * A tenant's own kind of sensitive identifier, given as data in its policy: e.g.
 * `{ name: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}' }`. The pattern describes one whole token; see
 * `tokenize` for where tokens end.
 */
export const tenantPatternSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Z][A-Z0-9_]{1,31}$/,
        'name must be UPPER_SNAKE_CASE, 2 to 32 characters, starting with a letter (e.g. EMPLOYEE_ID)',
      ),
    pattern: z.string().min(1, 'pattern must not be empty').max(MAX_PATTERN_LENGTH),
    caseInsensitive: z.boolean().default(false),
    description: z.string().max(200).optional(),
  })
  .strict();
export type TenantPattern = z.input<typeof tenantPatternSchema>;

export interface TenantPatternRecognizer extends Recognizer {
  readonly pattern: LinearPattern;
}

export type TenantPatternsResult =
  { ok: true; recognizers: TenantPatternRecognizer[] } | { ok: false; problems: string[] };

const RESERVED_NAMES: ReadonlySet<string> = new Set([...BUILT_IN_ENTITY_TYPES, PLACEHOLDER_LITERAL_TYPE]);

/** A pattern that matches words like these would redact ordinary prose, which is never what was meant. */
const ORDINARY_WORDS = ['the', 'and', 'a', 'I', 'Hello', 'is'];

/**
 * Tokens are maximal runs of characters other than whitespace and `, ; ( ) [ ] { } < > " ' | = / \ \``;
 * a token that does not match as a whole is tried once more without trailing or leading `. : ! ? *`
 * (sentence punctuation). Tokens are bounded in length, and the engine never backtracks, so scanning is
 * linear in the text.
 */
const TOKEN = /[^\s,;()[\]{}<>"'|=/\\`]+/gu;
const EDGE_PUNCTUATION = new Set(['.', ':', '!', '?', '*']);

function withoutEdgePunctuation(token: string): { from: number; to: number } {
  let from = 0;
  let to = token.length;
  while (from < to && EDGE_PUNCTUATION.has(token[from]!)) from += 1;
  while (to > from && EDGE_PUNCTUATION.has(token[to - 1]!)) to -= 1;
  return { from, to };
}

function tokenRecognizer(name: string, pattern: LinearPattern): TenantPatternRecognizer {
  return {
    type: name,
    pattern,
    find(text) {
      const spans: EntitySpan[] = [];
      for (const match of text.matchAll(TOKEN)) {
        const token = match[0];
        if (token.length > MAX_TOKEN_LENGTH) continue;
        if (pattern.matchesWhole(token)) {
          spans.push({ type: name, start: match.index, end: match.index + token.length });
          continue;
        }
        const { from, to } = withoutEdgePunctuation(token);
        if (to - from === token.length || to === from || !pattern.matchesWhole(token.slice(from, to)))
          continue;
        spans.push({ type: name, start: match.index + from, end: match.index + to });
      }
      return spans;
    },
  };
}

/**
 * Validates a tenant's patterns and compiles them into recognizers, or lists every problem, each naming
 * the pattern (position and name) and what was expected.
 */
export function compileTenantPatterns(input: unknown): TenantPatternsResult {
  const parsed = z.array(z.unknown()).max(MAX_TENANT_PATTERNS).safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      problems: [`tenant patterns must be a list of at most ${MAX_TENANT_PATTERNS} entries`],
    };
  }
  const problems: string[] = [];
  const recognizers: TenantPatternRecognizer[] = [];
  const names = new Set<string>();
  for (const [index, entry] of parsed.data.entries()) {
    const label = `tenant pattern ${index + 1}`;
    const shape = tenantPatternSchema.safeParse(entry);
    if (!shape.success) {
      for (const issue of shape.error.issues) {
        const field = issue.path.join('.') || 'entry';
        problems.push(`${label}: ${field}: ${issue.message}`);
      }
      continue;
    }
    const { name, pattern, caseInsensitive } = shape.data;
    const named = `${label} (${name})`;
    if (RESERVED_NAMES.has(name)) {
      problems.push(`${named}: name ${name} is a built-in type; choose another name`);
      continue;
    }
    if (names.has(name)) {
      problems.push(`${named}: name ${name} is used by an earlier pattern`);
      continue;
    }
    names.add(name);
    const compiled = compileLinearPattern(pattern, { caseInsensitive });
    if (!compiled.ok) {
      problems.push(`${named}: pattern ${JSON.stringify(pattern)}: ${compiled.problem}`);
      continue;
    }
    const ordinary = ORDINARY_WORDS.find((word) => compiled.pattern.matchesWhole(word));
    if (ordinary !== undefined) {
      problems.push(
        `${named}: pattern ${JSON.stringify(pattern)} matches the ordinary word '${ordinary}' and would redact plain prose; make it more specific`,
      );
      continue;
    }
    recognizers.push(tokenRecognizer(name, compiled.pattern));
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, recognizers };
}
