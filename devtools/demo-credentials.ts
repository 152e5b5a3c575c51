import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const credentialsSchema = z.object({
  tenantId: z.literal('demo'),
  apiKey: z.string(),
  contractorApiKey: z.string(),
  /** The demo tenant's governance key (`governance:read`, `governance:write`), issued by its bootstrap. */
  governanceApiKey: z.string().optional(),
});
export type DemoCredentials = z.infer<typeof credentialsSchema>;

export function demoCredentialsFile(dataDir: string): string {
  return path.join(dataDir, 'demo-credentials.json');
}

function newKey(): string {
  return `gh_demo_${randomBytes(24).toString('hex')}`;
}

/**
 * The demo tenant's API keys live only in this local file (mode 600) and, hashed, in the database.
 * They are made once, so the key `npm start` prints stays the same across restarts.
 */
export function loadOrCreateDemoCredentials(dataDir: string): DemoCredentials {
  const file = demoCredentialsFile(dataDir);
  if (existsSync(file)) {
    const parsed = credentialsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success) return parsed.data;
  }
  const credentials: DemoCredentials = { tenantId: 'demo', apiKey: newKey(), contractorApiKey: newKey() };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}

/** Records the demo tenant's governance key beside its other keys (same file, same mode). */
export function saveDemoGovernanceKey(
  dataDir: string,
  credentials: DemoCredentials,
  secret: string,
): DemoCredentials {
  const updated: DemoCredentials = { ...credentials, governanceApiKey: secret };
  writeFileSync(demoCredentialsFile(dataDir), `${JSON.stringify(updated, null, 2)}\n`, { mode: 0o600 });
  return updated;
}

export function readDemoCredentials(dataDir: string): DemoCredentials | undefined {
  const file = demoCredentialsFile(dataDir);
  if (!existsSync(file)) return undefined;
  const parsed = credentialsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}
