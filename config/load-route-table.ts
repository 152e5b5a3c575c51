import { readFileSync } from 'node:fs';
import { resolveModelPrice, type BillingMode, type PricingCatalogue } from '../domain/pricing-catalogue';
import { routeTableSchema, type RouteTable } from '../domain/route-table';
import type { GatehouseSettings } from './environment';
import { loadPricingCatalogue } from './load-pricing-catalogue';

/**
 * Reads and validates a route table file and prices every route: from the catalogue by its model (or
 * `pricedAs`) and billing mode, unless the route states a price of its own. A route the catalogue cannot
 * price throws `UnknownModelPriceError`, so a worker never starts charging $0. Errors name the file.
 */
export function loadRouteTable(
  file: string,
  catalogue: PricingCatalogue = loadPricingCatalogue(),
): RouteTable {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the route table ${file}: ${(error as Error).message}`);
  }
  const parsed = routeTableSchema.safeParse(priceRoutes(raw, catalogue));
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`the route table ${file} is invalid:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/**
 * The deployment's route table priced by the deployment's catalogue (GATEHOUSE_ROUTES_FILE and
 * GATEHOUSE_PRICING_CATALOGUE): what every command that reads routes for these settings uses.
 */
export function loadConfiguredRouteTable(
  settings: Pick<GatehouseSettings, 'routesFile' | 'pricingCatalogueFile'>,
  routesFile: string = settings.routesFile,
): RouteTable {
  return loadRouteTable(routesFile, loadPricingCatalogue(settings.pricingCatalogueFile));
}

type RawRoute = Record<string, unknown>;

/** Fills each route's price from the catalogue before validation; leaves anything malformed to the schema. */
function priceRoutes(raw: unknown, catalogue: PricingCatalogue): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const table = raw as { version?: unknown; routes?: unknown };
  if (!Array.isArray(table.routes)) return raw;
  const routes = (table.routes as unknown[]).map((entry) => {
    if (typeof entry !== 'object' || entry === null) return entry;
    const route = entry as RawRoute;
    if (route.priceUsdPerMillionTokens !== undefined) {
      return { pricingVersion: `route-table ${String(table.version)}`, ...route };
    }
    const model = typeof route.pricedAs === 'string' ? route.pricedAs : route.model;
    if (typeof model !== 'string') return route;
    const billing: BillingMode = route.billing === 'batch' ? 'batch' : 'on-demand';
    try {
      const resolved = resolveModelPrice(catalogue, model, billing);
      return {
        ...route,
        priceUsdPerMillionTokens: resolved.prices,
        pricingVersion: resolved.catalogueVersion,
      };
    } catch (error) {
      (error as Error).message = `route '${String(route.id)}': ${(error as Error).message}`;
      throw error;
    }
  });
  return { ...table, routes };
}
