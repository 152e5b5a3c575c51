import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs `npm run worker`'s entry point to its end and returns what it printed and its exit code. */
function runWorker(env: NodeJS.ProcessEnv): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/start-platform.ts', 'worker'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ output, code }));
  });
}

describe('worker start-up pricing check', () => {
  it('refuses to start when a configured route’s model has no catalogue price', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pricing-start-'));
    const routesFile = path.join(dir, 'routes.json');
    writeFileSync(
      routesFile,
      JSON.stringify({
        version: 'start-check',
        routes: [
          {
            id: 'mystery',
            provider: 'bedrock',
            model: 'global.anthropic.claude-mystery-v1:0',
            label: 'an unpriced model',
            contextWindowTokens: 200_000,
            maxOutputTokens: 1024,
            dataClasses: ['public'],
            taskQueue: 'route-mystery',
            retry: { maximumAttempts: 1, initialIntervalMs: 100 },
          },
        ],
        tasks: { default: { routes: ['mystery'] } },
      }),
    );
    const { output, code } = await runWorker({
      GATEHOUSE_ROUTES_FILE: routesFile,
      GATEHOUSE_DATA_DIR: dir,
      // Never reached: the check comes before Temporal and the database.
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(code).toBe(1);
    expect(output).toMatch(
      /\[gatehouse\] failed: route 'mystery': Pricing\.UnknownModel: pricing catalogue \S+ has no price for model 'global\.anthropic\.claude-mystery-v1:0'/,
    );
    expect(output).not.toContain('[gatehouse] ready.');
  }, 60_000);
});
