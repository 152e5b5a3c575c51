/**
 * `npm run report:screenshot`: seeds a week of demo traffic into a scratch SQLite database, writes the
 * HTML report from it, and photographs the page in headless Chromium into docs/report-example.png.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gatherReportData } from '../client/gather-report-data';
import { buildReportCharts } from '../client/report-charts';
import { readChartLibrary, renderHtmlReport } from '../client/render-html-report';
import { loadRouteTable } from '../config/load-route-table';
import { seedReportDemo } from '../devtools/seed-report-demo';
import { chromiumAvailable, chromiumPath, viewInChromium } from '../devtools/view-in-chromium';
import { newAuditKeys } from '../governance/audit-key-store';
import { createKnex } from '../store/knex-client';
import { migrateLatest } from '../store/migrate';
import { seedDemo } from '../store/seed-demo';

async function main(): Promise<void> {
  if (!chromiumAvailable()) {
    throw new Error(
      `no Chromium at ${chromiumPath()}: apt-get install -y chromium (or set GATEHOUSE_CHROMIUM_PATH)`,
    );
  }
  const root = path.resolve(__dirname, '..');
  const out = path.join(root, process.argv[2] ?? 'docs/report-example.png');
  const directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-report-demo-'));
  const db = createKnex({ sqliteFile: path.join(directory, 'demo.sqlite') });
  try {
    await migrateLatest(db);
    await seedDemo(db, { apiKey: 'demo-report-key', contractorApiKey: 'demo-report-contractor-key' });
    const routeTable = loadRouteTable(path.join(root, 'config/routes.bedrock-emulator.json'));
    // A fixed clock and seed: the same picture every time.
    const now = new Date('2026-12-02T16:00:00Z');
    const seeded = await seedReportDemo(db, { chainKey: newAuditKeys().chainKey, routeTable, now });
    const since = new Date(now.getTime() - 7 * 86_400_000);
    const data = await gatherReportData(db, undefined, {
      tenantIds: ['demo'],
      since,
      limit: 500,
      routeTable,
      now,
    });
    const file = path.join(directory, 'report.html');
    writeFileSync(
      file,
      renderHtmlReport(
        {
          title: 'Gatehouse report · demo',
          subtitle: `Seeded demo data: ${seeded.requests} requests over 7 days`,
        },
        buildReportCharts(data),
        readChartLibrary(),
      ),
    );
    const view = await viewInChromium(file, { screenshot: out });
    if (view.consoleErrors.length > 0)
      throw new Error(`the page logged errors: ${view.consoleErrors.join('; ')}`);
    console.log(
      `${path.relative(root, out)}: ${seeded.requests} requests, ${seeded.feedback} feedback items, ${view.drawn} charts drawn`,
    );
  } finally {
    await db.destroy();
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
