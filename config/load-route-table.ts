import { readFileSync } from 'node:fs';
import { routeTableSchema, type RouteTable } from '../domain/route-table';

/** Reads and validates a route table file; errors name the file and the offending field. */
export function loadRouteTable(file: string): RouteTable {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the route table ${file}: ${(error as Error).message}`);
  }
  const parsed = routeTableSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`the route table ${file} is invalid:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
