import { createStoreDirectory } from '../../client/front-door-store-directory';
import { GatehouseClient } from '../../client/gatehouse-client';
import {
  startFrontDoor,
  type FrontDoorHandle,
  type FrontDoorOptions,
} from '../../frontdoor/front-door-server';
import { hashApiKey } from '../../governance/caller-proof';
import { setBudget } from '../../store/budget-repository';
import { putPolicy } from '../../store/policy-repository';
import { upsertPrincipal } from '../../store/principal-repository';
import { createPromptVersion, DEFAULT_PROMPT_LABEL, setPromptLabel } from '../../store/prompt-repository';
import { DEMO_POLICY_DOCUMENT, DEMO_PROMPT_TEMPLATES } from '../../store/seed-demo';
import { upsertTenant } from '../../store/tenant-repository';
import type { GatehouseHarness } from './gatehouse-harness';

export interface FrontDoorUnderTest extends FrontDoorHandle {
  /** `${url}/v1`: what an OpenAI client takes as `baseURL`. */
  baseUrl: string;
  /** Access log lines so far, oldest first. */
  accessLog: string[];
  errorLog: string[];
}

/** The front door on a harness's client, task queue and database, on a free port of 127.0.0.1. */
export async function startTestFrontDoor(
  harness: GatehouseHarness,
  overrides: Partial<FrontDoorOptions> = {},
): Promise<FrontDoorUnderTest> {
  const accessLog: string[] = [];
  const errorLog: string[] = [];
  const handle = await startFrontDoor({
    gatehouse: new GatehouseClient(harness.client, { taskQueue: harness.taskQueue }),
    directory: createStoreDirectory(harness.db, harness.routeTable),
    readiness: {
      temporal: async () => {
        await harness.client.workflowService.getSystemInfo({});
      },
      database: async () => {
        await harness.db.raw('select 1');
      },
    },
    bodyLimitBytes: 1024 * 1024,
    rateLimitPerMinute: 10_000,
    // Tests change keys and tenants in the store and expect the next request to see it.
    keyCacheTtlMs: 0,
    streamPollIntervalMs: 20,
    accessLog: (line) => accessLog.push(line),
    errorLog: (line) => errorLog.push(line),
    ...overrides,
    host: '127.0.0.1',
    port: 0,
  });
  return { ...handle, baseUrl: `${handle.url}/v1`, accessLog, errorLog };
}

/**
 * A second tenant beside the harness's demo tenant, with one requester whose key is returned: enough to
 * start requests of its own (the demo policy and prompts, a budget).
 */
export async function seedSecondTenant(
  harness: GatehouseHarness,
  tenantId: string,
  apiKey: string,
): Promise<void> {
  const { db } = harness;
  await upsertTenant(db, { id: tenantId, name: `Tenant ${tenantId}`, status: 'active', tier: 'team' });
  await upsertPrincipal(db, {
    id: `${tenantId}-requester`,
    tenantId,
    name: 'Requester',
    apiKeyHash: hashApiKey(apiKey),
    capabilities: ['qa'],
    groups: ['everyone'],
    clearance: 'internal',
    role: 'requester',
    status: 'active',
  });
  await putPolicy(db, tenantId, DEMO_POLICY_DOCUMENT);
  for (const template of DEMO_PROMPT_TEMPLATES) {
    const version = await createPromptVersion(db, { tenantId, ...template });
    await setPromptLabel(db, { tenantId, name: template.name, label: DEFAULT_PROMPT_LABEL, version });
  }
  await setBudget(db, { tenantId, limitMicroUsd: 10_000_000 });
}
