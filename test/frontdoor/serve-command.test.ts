import { createServer, type AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { buildCli } from '../../client/cli';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilReady(url: string, deadline: number): Promise<Response> {
  for (;;) {
    const response = await fetch(`${url}/readyz`).catch(() => undefined);
    if (response?.status === 200 || Date.now() > deadline) {
      if (!response) throw new Error(`${url} never answered`);
      return response;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('gatehouse serve', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('serves the front door from the settings, answers an OpenAI client, and stops on SIGTERM', async () => {
    const port = await freePort();
    const written: string[] = [];
    const capture = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(chunk.toString());
      return true;
    });
    const settings = harness.cliSettings();
    const serving = buildCli(settings).parseAsync(['node', 'gatehouse', 'serve', '--port', String(port)]);
    try {
      const url = `http://127.0.0.1:${port}`;
      const ready = await waitUntilReady(url, Date.now() + 30_000);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { temporal: 'ok', database: 'ok' } });
      const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: harness.apiKey });
      const completion = await openai.chat.completions.create({
        model: 'gatehouse-qa',
        messages: [{ role: 'user', content: 'What is the refund policy?' }],
      });
      expect(completion.choices[0]!.message.content).toMatch(/refund/i);
      const printed = written.join('');
      expect(printed).toContain(`front door on ${url}: OpenAI base URL ${url}/v1`);
      expect(printed).toContain(`curl ${url}/v1/chat/completions -H "Authorization: Bearer <your API key>"`);
      const accessLines = printed.split('\n').filter((line) => line.includes('POST /v1/chat/completions'));
      expect(accessLines).toEqual([expect.stringMatching(/ 200 [\d.]+ms tenant=demo key=[0-9a-f]{8}$/)]);
      // Access lines say who and how it went, never what was asked.
      expect(accessLines.join('')).not.toMatch(/refund|policy/i);
    } finally {
      process.emit('SIGTERM');
      await serving;
      capture.mockRestore();
    }
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
