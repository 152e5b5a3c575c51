/**
 * Reads the deployment files as their consumers do: YAML with merge keys (Compose resolves `<<:`),
 * several documents per file (kubectl), Compose's `${VAR:-default}` interpolation, and the Markdown
 * tables the READMEs document variables, ports and metrics in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

export function projectPath(...parts: string[]): string {
  return path.join(PROJECT_ROOT, ...parts);
}

export function readText(...parts: string[]): string {
  return readFileSync(projectPath(...parts), 'utf8');
}

/** One YAML document; YAML errors (duplicate keys included) fail loudly, naming the file. */
export function readYaml(relativePath: string): unknown {
  const document = parseDocument(readText(relativePath), { merge: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new Error(`${relativePath}: ${document.errors.map((error) => error.message).join('; ')}`);
  }
  return document.toJS({ maxAliasCount: 1000 });
}

/** Every non-empty document of a multi-document YAML file. */
export function readYamlDocuments(relativePath: string): unknown[] {
  return parseAllDocuments(readText(relativePath), { merge: true, uniqueKeys: true })
    .map((document) => {
      if (document.errors.length > 0) {
        throw new Error(`${relativePath}: ${document.errors.map((error) => error.message).join('; ')}`);
      }
      return document.toJS() as unknown;
    })
    .filter((document) => document !== null && document !== undefined);
}

export function listFiles(relativeDirectory: string, extension: string): string[] {
  return readdirSync(projectPath(relativeDirectory))
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => path.join(relativeDirectory, name));
}

const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}|\$\$/g;

/** Variables a compose file interpolates, each with its default (undefined when it has none). */
export function interpolatedVariables(text: string): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const match of text.matchAll(INTERPOLATION)) {
    const name = match[1];
    if (name === undefined) continue;
    found.set(name, match[2] === undefined ? undefined : (match[3] ?? ''));
  }
  return found;
}

/**
 * Compose interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `$$`) with
 * the given environment, applied to every string of the parsed file as Compose does.
 */
export function interpolate<T>(value: T, environment: Readonly<Record<string, string>> = {}): T {
  if (typeof value === 'string') {
    return value.replace(
      INTERPOLATION,
      (whole, name: string | undefined, dash, fallback, question, message) => {
        if (whole === '$$') return '$';
        const set = name === undefined ? undefined : environment[name];
        if (dash === ':-') return set === undefined || set === '' ? String(fallback) : set;
        if (dash === '-') return set === undefined ? String(fallback) : set;
        if (question !== undefined && (set === undefined || (question === ':?' && set === ''))) {
          throw new Error(`\${${name}} is required: ${String(message)}`);
        }
        return set ?? '';
      },
    ) as T;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => interpolate(item, environment)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item as unknown, environment)]),
    ) as T;
  }
  return value;
}

/** Rows of the first Markdown table under the heading that contains `heading`, keyed by header cell. */
export function markdownTable(markdown: string, heading: string): Record<string, string>[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#+\s/.test(line) && line.includes(heading));
  if (start < 0) throw new Error(`no heading containing "${heading}"`);
  const tableStart = lines.findIndex((line, index) => index > start && line.trim().startsWith('|'));
  if (tableStart < 0) throw new Error(`no table under "${heading}"`);
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim());
  const header = cells(lines[tableStart]!);
  const rows: Record<string, string>[] = [];
  for (let index = tableStart + 2; index < lines.length && lines[index]!.trim().startsWith('|'); index += 1) {
    const values = cells(lines[index]!);
    rows.push(Object.fromEntries(header.map((name, column) => [name, values[column] ?? ''])));
  }
  return rows;
}

/** `VALUE` from a Markdown cell such as "`VALUE`" or "`VALUE` (note)". */
export function codeIn(cell: string | undefined): string[] {
  return [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}
