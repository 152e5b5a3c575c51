/**
 * Keys made with `gatehouse keys create` in the request path: a key with the `requests` scope starts
 * requests as its principal (and keeps working through a rotation's grace period); one without it, or
 * revoked before the request started, is refused at `authorize` with the reason.
 */
import { PolicyDeniedError } from '../../client/errors';
import { createKey, revokeKey, rotateKey } from '../../governance/api-keys';
import { startTestFrontDoor } from '../support/front-door-harness';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

describe('API key scopes and revocation in the request path', () => {
  let harness: GatehouseHarness;
  const writer = () => ({ db: harness.db, chainKey: harness.audit.keys.chainKey });
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function ask(apiKey: string, requestId: string) {
    const submitted = await harness.gatehouse.submit(harness.input({ apiKey, requestId }));
    return harness.gatehouse
      .result(submitted.workflowId, { tenantId: 'demo', apiKey })
      .catch((caught: unknown) => caught);
  }

  it('a requests-scoped key answers; after rotation both secrets work during the grace period', async () => {
    const issued = await createKey(writer(), {
      tenantId: 'demo',
      principalId: 'demo-analyst',
      scopes: ['requests'],
      expiresInMs: 30 * 86_400_000,
      actor: { principalId: 'erin', keyId: 'key-of-erin' },
    });
    const answered = (await ask(issued.secret, 'scoped-key-1')) as { output: string };
    expect(answered.output.length).toBeGreaterThan(0);
    const rotated = await rotateKey(writer(), {
      tenantId: 'demo',
      keyId: issued.record.keyId,
      graceMs: 3_600_000,
      actor: { principalId: 'erin', keyId: 'key-of-erin' },
    });
    expect(((await ask(issued.secret, 'scoped-key-2')) as { output: string }).output.length).toBeGreaterThan(
      0,
    );
    expect(((await ask(rotated.secret, 'scoped-key-3')) as { output: string }).output.length).toBeGreaterThan(
      0,
    );
  });

  it('a key without the requests scope, or revoked, is refused at authorize with the reason', async () => {
    const auditOnly = await createKey(writer(), {
      tenantId: 'demo',
      principalId: 'demo-analyst',
      scopes: ['audit'],
      actor: { principalId: 'erin', keyId: 'key-of-erin' },
    });
    const unscoped = await ask(auditOnly.secret, 'unscoped-key');
    expect(unscoped).toBeInstanceOf(PolicyDeniedError);
    expect((unscoped as Error).message).toContain(
      `key ${auditOnly.record.keyId} lacks scope 'requests' (it has: audit)`,
    );

    const revokedKey = await createKey(writer(), {
      tenantId: 'demo',
      principalId: 'demo-analyst',
      scopes: ['requests'],
      actor: { principalId: 'erin', keyId: 'key-of-erin' },
    });
    await revokeKey(writer(), {
      tenantId: 'demo',
      keyId: revokedKey.record.keyId,
      actor: { principalId: 'frank', keyId: 'key-of-frank' },
    });
    const revoked = await ask(revokedKey.secret, 'revoked-key');
    expect(revoked).toBeInstanceOf(PolicyDeniedError);
    expect((revoked as Error).message).toMatch(
      new RegExp(`key ${revokedKey.record.keyId} was revoked at \\d{4}-`),
    );
  });

  it('the HTTP front door refuses a key without the requests scope, saying so', async () => {
    const auditOnly = await createKey(writer(), {
      tenantId: 'demo',
      principalId: 'demo-analyst',
      scopes: ['audit'],
      actor: { principalId: 'erin', keyId: 'key-of-erin' },
    });
    const frontDoor = await startTestFrontDoor(harness);
    try {
      const response = await fetch(`${frontDoor.url}/v1/models`, {
        headers: { authorization: `Bearer ${auditOnly.secret}` },
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { message: string; code: string } };
      expect(body.error.code).toBe('Auth.InvalidApiKey');
      expect(body.error.message).toBe(
        `Incorrect API key provided: key ${auditOnly.record.keyId} lacks scope 'requests' (it has: audit)`,
      );
      const allowed = await fetch(`${frontDoor.url}/v1/models`, {
        headers: { authorization: `Bearer ${harness.apiKey}` },
      });
      expect(allowed.status).toBe(200);
    } finally {
      await frontDoor.close();
    }
  });
});
