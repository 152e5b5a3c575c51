import type { DataClass } from './data-class';

/**
 * The routes a task may use for work of `dataClass`: those its policy entry lists for the class (none
 * when the class is not listed), within the tenant allowlist.
 */
export function routesForDataClass(
  allowedRoutes: string[] | null,
  routesByDataClass: Partial<Record<DataClass, string[]>>,
  dataClass: DataClass,
): string[] {
  const listed = routesByDataClass[dataClass] ?? [];
  return allowedRoutes === null ? listed : listed.filter((route) => allowedRoutes.includes(route));
}
