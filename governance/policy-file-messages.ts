import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';

/** How a policy file's problems are told to a person: the field's path, its line, what was expected. */

/** `routes.summarize.confidential[0]`: how a person finds the field in the file. */
export function formatFieldPath(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`),
    '',
  );
}

const TYPE_NAMES: Record<string, string> = { object: 'a mapping', array: 'a list' };

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** One zod issue as a sentence that says what was found and what was expected. */
export function describeIssue(issue: z.ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined'
        ? `missing required field (expected ${TYPE_NAMES[issue.expected] ?? issue.expected})`
        : `expected ${TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`}, got ${describeValue(valueAt(input, issue.path))}`;
    case 'invalid_enum_value':
      return `"${String(issue.received)}" is not allowed (expected one of: ${issue.options.join(', ')})`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    case 'too_small':
      return issue.type === 'array'
        ? `expected at least ${String(issue.minimum)} item(s)`
        : `expected at least ${String(issue.minimum)}, got ${describeValue(valueAt(input, issue.path))}`;
    case 'too_big':
      return issue.type === 'array'
        ? `expected at most ${String(issue.maximum)} item(s)`
        : `expected at most ${String(issue.maximum)}, got ${describeValue(valueAt(input, issue.path))}`;
    default:
      return issue.message;
  }
}

export function lineOf(
  document: Document | undefined,
  lines: LineCounter,
  path: ReadonlyArray<string | number>,
) {
  // The deepest node that exists: a missing field is reported at the mapping that should hold it.
  for (let depth = path.length; depth >= 0 && document !== undefined; depth -= 1) {
    const node = document.getIn(path.slice(0, depth), true) as
      { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
