/**
 * Gatehouse's custom search attributes (DESIGN.md §2) and their registration through the operator
 * service, for clusters where the dev server's `--search-attribute` flags did not register them.
 */
import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';

export type SearchAttributeTypeName =
  'Keyword' | 'Double' | 'Text' | 'Int' | 'Bool' | 'Datetime' | 'KeywordList';

/** The CLI's and operator service's spelling of the SDK's search attribute types. */
const CLI_TYPE_NAMES: Record<SearchAttributeType, SearchAttributeTypeName> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Derived from the keys the workflow and client use, so registering and upserting never disagree. */
export const GATEHOUSE_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeTypeName>> =
  Object.fromEntries(Object.values(SEARCH_ATTRIBUTE_KEYS).map((key) => [key.name, CLI_TYPE_NAMES[key.type]]));

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const TYPE_TO_PROTO: Record<SearchAttributeTypeName, temporal.api.enums.v1.IndexedValueType> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** The server may answer with the enum number or, through some JSON paths, its name. */
export function searchAttributeTypeName(
  value: temporal.api.enums.v1.IndexedValueType | string | null | undefined,
): SearchAttributeTypeName | undefined {
  const numeric =
    typeof value === 'string' ? IndexedValueType[value as keyof typeof IndexedValueType] : value;
  for (const [name, proto] of Object.entries(TYPE_TO_PROTO)) {
    if (proto === numeric) return name as SearchAttributeTypeName;
  }
  return undefined;
}

/** The namespace's custom search attributes with their types. */
export async function listCustomSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<Record<string, SearchAttributeTypeName | 'Unknown'>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  const result: Record<string, SearchAttributeTypeName | 'Unknown'> = {};
  for (const [name, type] of Object.entries(response.customAttributes ?? {})) {
    result[name] = searchAttributeTypeName(type) ?? 'Unknown';
  }
  return result;
}

export interface EnsureSearchAttributesOptions {
  /** How long to wait for added attributes to become visible (default 30 s). */
  visibleTimeoutMs?: number;
}

/**
 * Adds the attributes the namespace lacks, waits until they are listed, and returns the names it
 * added (empty when all existed). Throws when one exists with another type: silently reusing it
 * would make every upsert of that attribute fail at run time.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  attributes: Readonly<Record<string, SearchAttributeTypeName>>,
  log?: (line: string) => void,
  options: EnsureSearchAttributesOptions = {},
): Promise<string[]> {
  const existing = await listCustomSearchAttributes(connection, namespace);
  assertNoTypeConflicts(existing, attributes, namespace);

  const missing = Object.keys(attributes).filter((name) => existing[name] === undefined);
  if (missing.length === 0) return [];

  log?.(`Adding search attributes to namespace ${namespace}: ${missing.join(', ')}`);
  const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const name of missing) {
    searchAttributes[name] = TYPE_TO_PROTO[attributes[name] as SearchAttributeTypeName];
  }
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    // Another process may have added them between our list and add; the re-list below decides.
    if (!isAlreadyExists(err)) throw err;
  }

  const deadline = Date.now() + (options.visibleTimeoutMs ?? 30_000);
  for (;;) {
    const now = await listCustomSearchAttributes(connection, namespace);
    assertNoTypeConflicts(now, attributes, namespace);
    const stillMissing = missing.filter((name) => now[name] === undefined);
    if (stillMissing.length === 0) return missing;
    if (Date.now() > deadline) {
      throw new Error(
        `Search attributes ${stillMissing.join(', ')} were added to namespace ${namespace} but are still not listed`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function assertNoTypeConflicts(
  existing: Record<string, SearchAttributeTypeName | 'Unknown'>,
  wanted: Readonly<Record<string, SearchAttributeTypeName>>,
  namespace: string,
): void {
  const conflicts = Object.entries(wanted)
    .filter(([name, type]) => existing[name] !== undefined && existing[name] !== type)
    .map(([name, type]) => `${name} is ${existing[name]} but ${type} is expected`);
  if (conflicts.length > 0) {
    throw new Error(
      `Search attribute type conflict in namespace ${namespace}: ${conflicts.join('; ')}. ` +
        'Search attributes cannot change type: remove them (`temporal operator search-attribute remove`) ' +
        'or use another namespace.',
    );
  }
}

function isAlreadyExists(err: unknown): boolean {
  // gRPC status 6 = ALREADY_EXISTS.
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 6;
}
