import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pricingCatalogueSchema, type PricingCatalogue } from '../domain/pricing-catalogue';

/** The catalogue the project ships; GATEHOUSE_PRICING_CATALOGUE names another. */
export const DEFAULT_PRICING_CATALOGUE = path.resolve(__dirname, 'pricing-catalogue.json');

/** Reads and validates a pricing catalogue; errors name the file and the offending field. */
export function loadPricingCatalogue(file: string = DEFAULT_PRICING_CATALOGUE): PricingCatalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the pricing catalogue ${file}: ${(error as Error).message}`);
  }
  const parsed = pricingCatalogueSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`the pricing catalogue ${file} is invalid:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
