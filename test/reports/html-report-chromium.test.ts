/**
 * `gatehouse report --html` opened in headless Chromium (Debian's `chromium`): every chart is drawn with
 * its data's colours, the page logs no error, and it requests nothing but itself. Without Chromium the
 * test is skipped with a message, unless GATEHOUSE_REQUIRE_CHROMIUM=1 (CI), where it fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { loadRouteTable } from '../../config/load-route-table';
import { seedReportDemo } from '../../devtools/seed-report-demo';
import { chromiumAvailable, chromiumPath, viewInChromium } from '../../devtools/view-in-chromium';
import { newPayloadKeyId, newPayloadKeyMaterial } from '../../codec/payload-keyring';
import { auditKeysFrom, newAuditKeyFile } from '../../governance/audit-key-store';
import { createSeededDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';
import { getTestTemporal, getTestTemporalAddress } from '../support/temporal-test-env';

const required = process.env.GATEHOUSE_REQUIRE_CHROMIUM === '1';
const available = chromiumAvailable();
if (!available && !required) {
  console.warn(
    `Skipping the HTML report in Chromium: no browser at ${chromiumPath()} (apt-get install -y chromium, or set GATEHOUSE_CHROMIUM_PATH; GATEHOUSE_REQUIRE_CHROMIUM=1 makes this a failure).`,
  );
}
const inChromium = available || required ? it : it.skip;

describe('the HTML report in headless Chromium', () => {
  let database: IsolatedDatabase;
  let settings: GatehouseSettings;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-html-report-'));
    const seeded = await createSeededDatabase('report');
    database = seeded;
    const { apiKey } = seeded;
    const keyFile = newAuditKeyFile();
    const routesFile = path.resolve(__dirname, '../../config/routes.bedrock-emulator.json');
    await seedReportDemo(database.db, {
      chainKey: auditKeysFrom(keyFile, 'test').chainKey,
      routeTable: loadRouteTable(routesFile),
    });
    settings = {
      ...readSettings({
        GATEHOUSE_API_KEY: apiKey,
        GATEHOUSE_ROUTES_FILE: routesFile,
        TEMPORAL_ADDRESS: getTestTemporalAddress(),
        TEMPORAL_NAMESPACE: getTestTemporal().namespace,
        GATEHOUSE_CODEC_KEYS: `${newPayloadKeyId()}:${newPayloadKeyMaterial().toString('base64')}`,
      }),
      ...database.location,
    };
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  inChromium('draws every chart, logs no error and loads nothing but the file', async () => {
    if (!available)
      throw new Error(`GATEHOUSE_REQUIRE_CHROMIUM=1 but there is no Chromium at ${chromiumPath()}`);
    const file = path.join(directory, 'report.html');
    const run = await runCli(settings, 'report', '--html', file, '--since', '7d');
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(
      /report written to .*report\.html: 5 charts, \d+ run\(s\), \d+ charged request\(s\), \d+ feedback item\(s\)/,
    );
    const html = readFileSync(file, 'utf8');
    // Self-contained: no external script, stylesheet or image, and a policy that forbids loading any.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('Chart.js 4.6.1');

    const view = await viewInChromium(file);
    expect(view.consoleErrors).toEqual([]);
    expect(view.requests).toEqual([pathToFileURL(file).toString()]);
    expect(view.drawn).toBe('5');
    expect(view.canvases.map((canvas) => canvas.id)).toEqual([
      'chart-latency',
      'chart-cost',
      'chart-retries',
      'chart-cache',
      'chart-feedback',
    ]);
    const pixels = (id: string, colour: string) =>
      view.canvases.find((canvas) => canvas.id === `chart-${id}`)!.pixelsByColour[colour] ?? 0;
    // Each chart's bars in its datasets' colours (a legend swatch alone is ~400 pixels).
    expect(pixels('latency', '#2563eb')).toBeGreaterThan(2_000);
    for (const colour of ['#2563eb', '#f97316', '#16a34a'])
      expect(pixels('cost', colour)).toBeGreaterThan(2_000);
    expect(pixels('retries', '#94a3b8')).toBeGreaterThan(2_000);
    expect(pixels('retries', '#dc2626')).toBeGreaterThan(500);
    expect(pixels('cache', '#16a34a')).toBeGreaterThan(2_000);
    expect(pixels('feedback', '#16a34a')).toBeGreaterThan(2_000);
  });

  inChromium('shows the cache chart at zero and says why when the ledger holds no cache tokens', async () => {
    if (!available)
      throw new Error(`GATEHOUSE_REQUIRE_CHROMIUM=1 but there is no Chromium at ${chromiumPath()}`);
    await database.db('usage_ledger').update({ cache_read_tokens: 0, cache_write_tokens: 0 });
    const file = path.join(directory, 'no-cache.html');
    expect((await runCli(settings, 'report', '--html', file)).exitCode).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain(
      'No cache-read or cache-write tokens are recorded in the ledger',
    );
    const view = await viewInChromium(file);
    expect(view.consoleErrors).toEqual([]);
    const cache = view.canvases.find((canvas) => canvas.id === 'chart-cache')!;
    // Axes and legend drawn, no bar: only the legend swatch carries the bar colour.
    expect(cache.paintedPixels).toBeGreaterThan(1_000);
    expect(cache.pixelsByColour['#16a34a'] ?? 0).toBeLessThan(1_000);
  });
});
