import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPricingCatalogue } from '../../config/load-pricing-catalogue';
import { loadRouteTable } from '../../config/load-route-table';
import { UnknownModelPriceError } from '../../domain/pricing-catalogue';

const configDir = path.resolve(__dirname, '../../config');
const tables = readdirSync(configDir).filter((file) => file.startsWith('routes') && file.endsWith('.json'));

function tableFile(routes: Array<Record<string, unknown>>): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gatehouse-routes-')), 'routes.json');
  writeFileSync(
    file,
    JSON.stringify({ version: 'test-table', routes, tasks: { default: { routes: [routes[0]?.id] } } }),
  );
  return file;
}

function route(id: string, model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    provider: 'bedrock',
    model,
    label: id,
    contextWindowTokens: 200_000,
    maxOutputTokens: 1024,
    dataClasses: ['public'],
    taskQueue: `queue-${id}`,
    retry: { maximumAttempts: 1, initialIntervalMs: 100 },
    ...extra,
  };
}

describe('shipped route tables', () => {
  it('ships the default and the emulated table', () => {
    expect(tables).toEqual(expect.arrayContaining(['routes.json', 'routes.bedrock-emulator.json']));
  });

  it.each(tables)('%s is valid, and only routes whose data stays with us carry restricted data', (file) => {
    const table = loadRouteTable(path.join(configDir, file));
    for (const route of table.routes) {
      if (route.dataClasses.includes('restricted'))
        expect(['extractive', 'openai-compatible']).toContain(route.provider);
      expect(route.label.length).toBeGreaterThan(0);
    }
  });

  it.each(tables)('%s takes every price from the shipped pricing catalogue', (file) => {
    const catalogue = loadPricingCatalogue();
    for (const route of loadRouteTable(path.join(configDir, file)).routes) {
      expect(route.pricingVersion).toBe(catalogue.version);
    }
  });

  it('names the file and the field when a table is invalid', () => {
    expect(() => loadRouteTable(path.join(configDir, 'no-such-table.json'))).toThrow(
      /cannot read the route table .*no-such-table\.json/,
    );
  });
});

describe('route prices from the pricing catalogue', () => {
  it('prices a cross-region profile at its base model’s catalogue price, cache reads and writes included', () => {
    const table = loadRouteTable(
      tableFile([
        route('haiku-us', 'us.anthropic.claude-3-5-haiku-20241022-v1:0'),
        route('haiku-eu-batch', 'eu.anthropic.claude-3-5-haiku-20241022-v1:0', { billing: 'batch' }),
        route('profile', 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc', {
          pricedAs: 'amazon.nova-lite-v1:0',
        }),
      ]),
    );
    const [us, euBatch, profile] = table.routes;
    expect(us?.priceUsdPerMillionTokens).toEqual({ input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 });
    expect(euBatch?.priceUsdPerMillionTokens).toEqual({
      input: 0.4,
      output: 2,
      cacheRead: 0.04,
      cacheWrite: 0.5,
    });
    expect(profile?.priceUsdPerMillionTokens).toEqual({
      input: 0.06,
      output: 0.24,
      cacheRead: 0.015,
      cacheWrite: 0,
    });
    expect(new Set(table.routes.map((entry) => entry.pricingVersion))).toEqual(
      new Set([loadPricingCatalogue().version]),
    );
  });

  it('keeps a price a route states itself, recorded as the route table’s', () => {
    const [own] = loadRouteTable(
      tableFile([
        route('self-hosted', 'my-finetune', { priceUsdPerMillionTokens: { input: 0.2, output: 0.6 } }),
      ]),
    ).routes;
    expect(own?.priceUsdPerMillionTokens).toEqual({ input: 0.2, output: 0.6, cacheRead: 0, cacheWrite: 0 });
    expect(own?.pricingVersion).toBe('route-table test-table');
  });

  it('refuses a route whose model the catalogue does not know, naming the route', () => {
    const file = tableFile([
      route('known', 'amazon.nova-lite-v1:0'),
      route('mystery', 'us.anthropic.claude-mystery-v1:0'),
    ]);
    expect(() => loadRouteTable(file)).toThrow(UnknownModelPriceError);
    expect(() => loadRouteTable(file)).toThrow(
      /^route 'mystery': Pricing\.UnknownModel: pricing catalogue .* has no price for model 'us\.anthropic\.claude-mystery-v1:0'/,
    );
  });
});
