import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadRouteTable } from '../../config/load-route-table';

const configDir = path.resolve(__dirname, '../../config');
const tables = readdirSync(configDir).filter((file) => file.startsWith('routes') && file.endsWith('.json'));

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

  it('names the file and the field when a table is invalid', () => {
    expect(() => loadRouteTable(path.join(configDir, 'no-such-table.json'))).toThrow(
      /cannot read the route table .*no-such-table\.json/,
    );
  });
});
