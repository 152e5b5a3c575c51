/** `tenant_id` → `tenantId`: the field a column fills. */
type FieldName<Column extends string> = Column extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<FieldName<Tail>>}`
  : Column;

export type ColumnsAsFields<Row, Column extends keyof Row & string> = {
  [Name in Column as FieldName<Name>]: Row[Name];
};

/** `tenant_id` → `tenantId` at run time, as `FieldName` does for types. */
export function fieldNameOf(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

/**
 * The named columns of a row under the names of the fields they fill (`tenant_id` → `tenantId`), their
 * values as stored: the store's columns are its domain fields in snake case, so a row mapper writes out
 * only the columns that need converting.
 */
export function columnsAsFields<Row, Column extends keyof Row & string>(
  row: Row,
  columns: readonly Column[],
): ColumnsAsFields<Row, Column> {
  const fields: Record<string, unknown> = {};
  for (const column of columns) fields[fieldNameOf(column)] = row[column];
  return fields as ColumnsAsFields<Row, Column>;
}
