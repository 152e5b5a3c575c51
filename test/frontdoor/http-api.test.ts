import { randomBytes, randomUUID } from 'node:crypto';
import { upsertTenant } from '../../store/tenant-repository';
import { seedSecondTenant, startTestFrontDoor, type FrontDoorUnderTest } from '../support/front-door-harness';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string };
}

interface RequestView {
  id: string;
  workflowId: string;
  status: string;
  started?: boolean;
  result?: { output: string; workflowId: string };
  error?: OpenAiError['error'];
}

/** One parsed server-sent event. */
interface ServerEvent {
  event?: string;
  data: string;
}

function parseEvents(text: string): ServerEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
      return { event, data };
    });
}

describe('the front door over HTTP: native requests, tenancy, errors, limits, health, OpenAPI', () => {
  let harness: GatehouseHarness;
  let frontDoor: FrontDoorUnderTest;
  const otherTenantKey = `test-acme-${randomBytes(12).toString('hex')}`;

  const call = async (
    method: string,
    path: string,
    options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const key = options.key === undefined ? harness.apiKey : options.key;
    const response = await fetch(`${frontDoor.url}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: () => JSON.parse(text) as unknown,
    };
  };

  beforeAll(async () => {
    harness = await startHarness();
    await seedSecondTenant(harness, 'acme', otherTenantKey);
    frontDoor = await startTestFrontDoor(harness);
  });
  afterAll(async () => {
    await frontDoor?.close();
    await harness?.close();
  });

  it('submits a native request (202), reports it, and streams its events to the result', async () => {
    const requestId = `native-${randomUUID()}`;
    const submitted = await call('POST', '/v1/requests', {
      body: { taskType: 'qa', question: 'What is the refund policy?', feature: 'help-center' },
      headers: { 'Idempotency-Key': requestId },
    });
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get('location')).toBe(`/v1/requests/${requestId}`);
    expect(submitted.json()).toMatchObject({
      id: requestId,
      object: 'gatehouse.request',
      workflowId: `gatehouse/demo/${requestId}`,
      status: 'running',
      started: true,
    });

    const streamed = await call('GET', `/v1/requests/${requestId}/stream`);
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(streamed.text);
    expect(events[0]!.event).toBe('status');
    expect(events.at(-1)!.event).toBe('result');
    const result = JSON.parse(events.at(-1)!.data) as { output: string; workflowId: string };
    expect(result.output).toMatch(/refund/i);

    const view = (await call('GET', `/v1/requests/${requestId}`)).json() as RequestView;
    expect(view.status).toBe('succeeded');
    expect(view.result?.output).toBe(result.output);

    const again = await call('POST', '/v1/requests', {
      body: { taskType: 'qa', question: 'What is the refund policy?', feature: 'help-center' },
      headers: { 'Idempotency-Key': requestId },
    });
    expect(again.json()).toMatchObject({ id: requestId, started: false });
  });

  it('reports a failed request with its failure type, and answers a chat completion for it in OpenAI format', async () => {
    const requestId = `denied-${randomUUID()}`;
    const completion = await call('POST', '/v1/chat/completions', {
      key: harness.contractorApiKey,
      body: {
        model: 'gatehouse-summarize',
        messages: [{ role: 'user', content: 'Summarise the refund policy' }],
      },
      headers: { 'Idempotency-Key': requestId },
    });
    expect(completion.status).toBe(403);
    expect(completion.headers.get('x-request-id')).toBe(requestId);
    expect(completion.headers.get('x-should-retry')).toBe('false');
    expect(completion.json()).toEqual({
      error: {
        message: expect.stringMatching(/may not run task 'summarize'/),
        type: 'permission_error',
        param: null,
        code: 'Policy.Denied',
      },
    });
    const view = (
      await call('GET', `/v1/requests/${requestId}`, { key: harness.contractorApiKey })
    ).json() as RequestView;
    expect(view.status).toBe('failed');
    expect(view.error).toMatchObject({ code: 'Policy.Denied', type: 'permission_error' });
  });

  it('refuses a reused Idempotency-Key with different content (409) and bad input (400) before any workflow', async () => {
    const requestId = `conflict-${randomUUID()}`;
    const first = await call('POST', '/v1/chat/completions', {
      body: { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'What is the refund policy?' }] },
      headers: { 'Idempotency-Key': requestId },
    });
    expect(first.status).toBe(200);
    const conflict = await call('POST', '/v1/chat/completions', {
      body: { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'How long does shipping take?' }] },
      headers: { 'Idempotency-Key': requestId },
    });
    expect(conflict.status).toBe(409);
    expect((conflict.json() as OpenAiError).error).toMatchObject({ code: 'Request.Conflict' });
    expect((conflict.json() as OpenAiError).error.message).toMatch(/different question/);

    const cases: Array<[unknown, Record<string, string>, number, string, RegExp]> = [
      [
        { model: 'gatehouse-qa', messages: [{ role: 'system', content: 'hi' }] },
        {},
        400,
        'Request.Invalid',
        /no user message/,
      ],
      [
        { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
        {},
        404,
        'Request.ModelNotFound',
        /gatehouse-<task type>/,
      ],
      [{ model: 'gatehouse-qa' }, {}, 400, 'Request.Invalid', /body\.messages: Required/],
      [
        { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'hi' }], n: 2 },
        {},
        400,
        'Request.Invalid',
        /one choice/,
      ],
      [
        {
          model: 'gatehouse-qa',
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
        },
        {},
        400,
        'Request.Invalid',
        /only text/,
      ],
      [
        { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'hi' }] },
        { 'Idempotency-Key': 'has spaces' },
        400,
        'Request.Invalid',
        /Idempotency-Key/,
      ],
      [
        { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'hi' }] },
        { 'x-gatehouse-data-class': 'secret' },
        400,
        'Request.Invalid',
        /x-gatehouse-data-class/,
      ],
      [
        { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'a'.repeat(40_000) }] },
        {},
        400,
        'Request.Invalid',
        /question/,
      ],
    ];
    for (const [body, headers, status, code, message] of cases) {
      const response = await call('POST', '/v1/chat/completions', { body, headers });
      expect({ status: response.status, error: (response.json() as OpenAiError).error }).toEqual({
        status,
        error: expect.objectContaining({ code, message: expect.stringMatching(message) }),
      });
    }
    const badJson = await fetch(`${frontDoor.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${harness.apiKey}`, 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as OpenAiError).error.code).toBe('Request.Invalid');
  });

  it('never shows one tenant’s request to another tenant’s key, nor to another key of the same tenant', async () => {
    const requestId = `private-${randomUUID()}`;
    const secretQuestion = 'What is the refund policy for order 4711?';
    const acme = await call('POST', '/v1/requests', {
      key: otherTenantKey,
      body: { taskType: 'qa', question: secretQuestion, requestId },
    });
    expect(acme.status).toBe(202);
    expect((acme.json() as RequestView).workflowId).toBe(`gatehouse/acme/${requestId}`);

    const neverUsed = `never-used-${randomUUID()}`;
    const control = await call('GET', `/v1/requests/${neverUsed}`);
    expect(control.status).toBe(404);
    const attempts = [
      await call('GET', `/v1/requests/${requestId}`),
      await call('GET', `/v1/requests/${requestId}/stream`),
      await call('GET', `/v1/requests/${requestId}`, { key: harness.contractorApiKey }),
    ];
    // A workflow id in place of a request id names nothing either; only what was sent is echoed.
    const byWorkflowId = await call(
      'GET',
      `/v1/requests/${encodeURIComponent(`gatehouse/acme/${requestId}`)}`,
    );
    expect(byWorkflowId.status).toBe(404);
    expect(byWorkflowId.text).not.toContain('4711');
    for (const attempt of attempts) {
      expect(attempt.status).toBe(404);
      expect(attempt.text).not.toContain('acme');
      expect(attempt.text).not.toContain('4711');
      const error = (attempt.json() as OpenAiError).error;
      expect(error.code).toBe('Request.NotFound');
      // The same answer as for a request that never existed, the id aside.
      expect(error.message.replace(/gatehouse\/demo\/\S+/, '<id>')).toBe(
        (control.json() as OpenAiError).error.message.replace(/gatehouse\/demo\/\S+/, '<id>'),
      );
    }

    // Tenant demo's key with the same id gets a request of its own, never acme's.
    const own = await call('POST', '/v1/requests', {
      body: { taskType: 'qa', question: 'What is the refund policy?', requestId },
    });
    expect((own.json() as RequestView).workflowId).toBe(`gatehouse/demo/${requestId}`);
    const acmeView = (
      await call('GET', `/v1/requests/${requestId}`, { key: otherTenantKey })
    ).json() as RequestView;
    expect(acmeView.workflowId).toBe(`gatehouse/acme/${requestId}`);
  });

  it('refuses missing and unknown keys with 401, and a suspended tenant’s key with 403', async () => {
    for (const key of [null, 'short', `unknown-${randomBytes(12).toString('hex')}`]) {
      const response = await call('GET', '/v1/models', { key });
      expect(response.status).toBe(401);
      expect((response.json() as OpenAiError).error.code).toBe('Auth.InvalidApiKey');
    }
    const basic = await call('GET', '/v1/models', {
      key: null,
      headers: { authorization: `Basic ${harness.apiKey}` },
    });
    expect(basic.status).toBe(401);
    await upsertTenant(harness.db, { id: 'acme', name: 'Tenant acme', status: 'suspended', tier: 'team' });
    try {
      const suspended = await call('GET', '/v1/models', { key: otherTenantKey });
      expect(suspended.status).toBe(403);
      expect((suspended.json() as OpenAiError).error).toMatchObject({
        code: 'Policy.Denied',
        message: "tenant 'acme' is suspended",
      });
    } finally {
      await upsertTenant(harness.db, { id: 'acme', name: 'Tenant acme', status: 'active', tier: 'team' });
    }
  });

  it('answers unknown endpoints with 404 in OpenAI format', async () => {
    const response = await call('GET', '/v1/assistants');
    expect(response.status).toBe(404);
    expect((response.json() as OpenAiError).error.code).toBe('Request.EndpointNotFound');
  });

  it('rate-limits each key separately with 429, Retry-After and OpenAI’s x-ratelimit headers', async () => {
    const limited = await startTestFrontDoor(harness, { rateLimitPerMinute: 3 });
    try {
      const get = (key: string) =>
        fetch(`${limited.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let index = 0; index < 4; index++) {
        last = await get(harness.apiKey);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(last!.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(last!.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(last!.headers.get('x-should-retry')).toBe('true');
      expect(((await last!.json()) as OpenAiError).error).toMatchObject({
        code: 'Request.RateLimited',
        type: 'requests',
      });
      expect((await get(harness.contractorApiKey)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('serves /healthz, and /readyz that fails when a dependency does', async () => {
    expect(await (await fetch(`${frontDoor.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${frontDoor.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { temporal: 'ok', database: 'ok' } });

    const broken = await startTestFrontDoor(harness, {
      readiness: {
        temporal: async () => undefined,
        database: async () => {
          throw new Error('connection refused');
        },
      },
    });
    try {
      const notReady = await fetch(`${broken.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({
        status: 'not ready',
        checks: { temporal: 'ok', database: 'connection refused' },
      });
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const response = await fetch(`${frontDoor.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<
                string,
                { schema: { properties?: Record<string, unknown>; required?: string[] } }
              >;
            };
            parameters?: Array<{ name: string; in: string }>;
            responses: Record<string, { content?: Record<string, unknown> }>;
          }
        >
      >;
      components: { securitySchemes: Record<string, { scheme: string }> };
    };
    expect(document.openapi).toBe('3.0.3');
    expect(Object.keys(document.paths).sort()).toEqual([
      '/healthz',
      '/readyz',
      '/v1/chat/completions',
      '/v1/embeddings',
      '/v1/models',
      '/v1/models/{model}',
      '/v1/requests',
      '/v1/requests/{id}',
      '/v1/requests/{id}/stream',
    ]);
    const chat = document.paths['/v1/chat/completions']!['post']!;
    const body = chat.requestBody!.content['application/json']!.schema;
    expect(body.required).toEqual(expect.arrayContaining(['model', 'messages']));
    expect(Object.keys(body.properties!)).toEqual(
      expect.arrayContaining(['response_format', 'stream', 'max_tokens']),
    );
    expect(chat.parameters!.map((parameter) => `${parameter.in}:${parameter.name}`)).toEqual(
      expect.arrayContaining(['header:idempotency-key', 'header:x-gatehouse-feature']),
    );
    expect(Object.keys(chat.responses['200']!.content!)).toEqual(['application/json', 'text/event-stream']);
    const native = document.paths['/v1/requests']!['post']!.requestBody!.content['application/json']!.schema;
    expect(native.required).toEqual(expect.arrayContaining(['taskType', 'question']));
    expect(Object.keys(native.properties!)).not.toContain('apiKey');
    expect(Object.keys(native.properties!)).not.toContain('tenantId');
    expect(document.components.securitySchemes['gatehouseApiKey']!.scheme).toBe('bearer');
  });
});
