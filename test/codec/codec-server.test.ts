import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ALL_TENANTS,
  addCodecToken,
  createCodecTokenVerifier,
  revokeCodecToken,
} from '../../codec/codec-access-tokens';
import { startCodecServer, type CodecServerHandle } from '../../codec/codec-server';
import { ensureTemporalCli } from '../../devtools/temporal-cli';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { getTestTemporalAddress, getTestTemporalNamespace } from '../support/temporal-test-env';
import {
  payloadEncoding,
  payloadsInJson,
  rawHistoryJson,
  readableText,
  seedCanaryDocument,
  temporaryDirectory,
  type JsonPayload,
} from './history-payloads';

const run = promisify(execFile);
const QUESTION_CANARY = `QCANARY${randomBytes(6).toString('hex')}`;
const DOCUMENT_CANARY = `DCANARY${randomBytes(6).toString('hex')}`;
const UI_ORIGIN = 'http://localhost:8233';

describe('the codec server decodes history for authorised operators only', () => {
  let harness: GatehouseHarness;
  let server: CodecServerHandle;
  let temp: ReturnType<typeof temporaryDirectory>;
  let tokenFile: string;
  const tokens: Record<'all' | 'demo' | 'acme', string> = { all: '', demo: '', acme: '' };
  let workflowId: string;
  let encrypted: JsonPayload[];
  const serverLog: string[] = [];

  const post = (endpoint: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: JSON.stringify(body),
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const dataText = (payloads: { data?: string }[]) =>
    payloads.map((payload) => Buffer.from(payload.data ?? '', 'base64').toString('utf8')).join('\n');

  beforeAll(async () => {
    temp = temporaryDirectory();
    tokenFile = path.join(temp.dir, 'codec-tokens.json');
    tokens.all = addCodecToken(tokenFile, { name: 'operator', tenants: ALL_TENANTS }).token;
    tokens.demo = addCodecToken(tokenFile, { name: 'support-demo', tenants: ['demo'] }).token;
    tokens.acme = addCodecToken(tokenFile, { name: 'support-acme', tenants: ['acme'] }).token;

    harness = await startHarness();
    await seedCanaryDocument(harness.db, DOCUMENT_CANARY);
    const submitted = await harness.gatehouse.submit(
      harness.input({
        requestId: `codec-${randomBytes(4).toString('hex')}`,
        question: `What is the refund policy and who approves refunds? ${QUESTION_CANARY}`,
      }),
    );
    workflowId = submitted.workflowId;
    await harness.gatehouse.result(workflowId, harness.caller);
    encrypted = payloadsInJson(JSON.parse(await rawHistoryJson(harness.client, workflowId))).filter(
      (payload) => payloadEncoding(payload) === 'binary/encrypted',
    );

    server = await startCodecServer({
      keyring: harness.keyring,
      tokens: createCodecTokenVerifier({ tokenFile }),
      allowedOrigins: [UI_ORIGIN],
      log: (line) => serverLog.push(line),
    });
  });
  afterAll(async () => {
    await server?.close();
    await harness?.close();
    temp?.remove();
  });

  it('decodes every payload for an all-tenants token and for a token scoped to the tenant', async () => {
    expect(encrypted.length).toBeGreaterThan(10);
    expect(dataText(encrypted)).not.toContain(DOCUMENT_CANARY);
    for (const token of [tokens.all, tokens.demo]) {
      const response = await post(
        'decode',
        { payloads: encrypted.map(({ metadata, data }) => ({ metadata, data })) },
        bearer(token),
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        payloads: { metadata: Record<string, string>; data: string }[];
      };
      expect(body.payloads).toHaveLength(encrypted.length);
      const decoded = dataText(body.payloads);
      expect(decoded).toContain(QUESTION_CANARY);
      expect(decoded).toContain(DOCUMENT_CANARY);
      expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    }
  });

  it("refuses a wrong token (401) and another tenant's token (403) without leaking anything decoded", async () => {
    const body = { payloads: encrypted.map(({ metadata, data }) => ({ metadata, data })) };
    const cases = [
      { headers: {}, status: 401, message: /operator token is required/ },
      { headers: bearer(`ghc_${randomBytes(32).toString('base64url')}`), status: 401, message: /not valid/ },
      { headers: { authorization: tokens.all }, status: 401, message: /Bearer <token>/ },
      {
        headers: bearer(tokens.acme),
        status: 403,
        message: /'support-acme' may decode payloads of acme only.*'demo'/,
      },
    ];
    for (const { headers, status, message } of cases) {
      const response = await post('decode', body, headers);
      const text = await response.text();
      expect({ status: response.status, text }).toEqual({ status, text: expect.stringMatching(message) });
      expect(text).not.toContain(QUESTION_CANARY);
      expect(text).not.toContain(DOCUMENT_CANARY);
      expect(text).not.toContain('refund');
    }
  });

  it('lets only all-tenants tokens decode payloads that name no tenant', async () => {
    const encoded = await post(
      'encode',
      {
        payloads: [
          {
            metadata: { encoding: Buffer.from('json/plain').toString('base64') },
            data: Buffer.from('"x"').toString('base64'),
          },
        ],
      },
      bearer(tokens.all),
    );
    expect(encoded.status).toBe(200);
    const { payloads } = (await encoded.json()) as { payloads: JsonPayload[] };
    expect(payloads[0]!.metadata['gatehouse-tenant']).toBeUndefined();
    expect((await post('decode', { payloads }, bearer(tokens.demo))).status).toBe(403);
    expect((await post('decode', { payloads }, bearer(tokens.all))).status).toBe(200);

    // A single-tenant token labels what it encodes with its tenant, so it can read it back.
    const own = (await (
      await post(
        'encode',
        { payloads: [{ data: Buffer.from('"y"').toString('base64') }] },
        bearer(tokens.demo),
      )
    ).json()) as { payloads: JsonPayload[] };
    expect(Buffer.from(own.payloads[0]!.metadata['gatehouse-tenant']!, 'base64').toString()).toBe('demo');
    expect((await post('decode', own, bearer(tokens.demo))).status).toBe(200);
  });

  it('answers CORS preflights for the UI origin, with the Authorization header allowed', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);

    const foreign = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const actual = await post('decode', { payloads: [] }, { ...bearer(tokens.all), origin: UI_ORIGIN });
    expect(actual.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('serves the UI through a sign-in cookie, and a revoked token stops working at once', async () => {
    const refused = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=nope',
      redirect: 'manual',
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();

    const signIn = await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.demo }).toString(),
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const session = cookie.split(';')[0]!;
    const body = { payloads: encrypted.slice(0, 3).map(({ metadata, data }) => ({ metadata, data })) };
    expect((await post('decode', body, { cookie: session, origin: UI_ORIGIN })).status).toBe(200);

    const extra = addCodecToken(tokenFile, { name: 'temporary', tenants: ['demo'] }).token;
    expect((await post('decode', body, bearer(extra))).status).toBe(200);
    revokeCodecToken(tokenFile, 'temporary');
    expect((await post('decode', body, bearer(extra))).status).toBe(401);
  });

  it('rejects malformed bodies and unknown routes with a clear message', async () => {
    const malformed = await post('decode', { payloads: [{ data: 42 }] }, bearer(tokens.all));
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toMatch(/protobuf JSON/);
    const unknownKey = await post(
      'decode',
      {
        payloads: [
          {
            data: encrypted[0]!.data,
            metadata: {
              ...encrypted[0]!.metadata,
              'encryption-key-id': Buffer.from('pk-gone').toString('base64'),
            },
          },
        ],
      },
      bearer(tokens.all),
    );
    expect(unknownKey.status).toBe(422);
    expect(await unknownKey.text()).toMatch(/key 'pk-gone'/);
    const nowhere = await fetch(`${server.url}/elsewhere`, { method: 'POST', headers: bearer(tokens.all) });
    expect(nowhere.status).toBe(404);
  });

  it('decodes `temporal workflow show --output json` through --codec-endpoint and --codec-auth', async () => {
    const cli = await ensureTemporalCli({
      projectRoot: path.resolve(__dirname, '..', '..'),
      explicitPath: process.env.TEMPORAL_CLI_PATH,
      log: () => undefined,
    });
    const show = (...extra: string[]) =>
      run(
        cli,
        [
          'workflow',
          'show',
          '-w',
          workflowId,
          '--address',
          getTestTemporalAddress(),
          '--namespace',
          getTestTemporalNamespace(),
          '--output',
          'json',
          ...extra,
        ],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );

    const plain = await show();
    serverLog.length = 0;
    expect(readableText(plain.stdout)).not.toContain(DOCUMENT_CANARY);
    expect(readableText(plain.stdout)).not.toContain(QUESTION_CANARY);

    const decoded = await show('--codec-endpoint', server.url, '--codec-auth', `Bearer ${tokens.demo}`);
    expect(readableText(decoded.stdout)).toContain(QUESTION_CANARY);
    expect(readableText(decoded.stdout)).toContain(DOCUMENT_CANARY);

    // Refused by the codec server, the CLI retries until its deadline and fails without printing history.
    const foreign = await show(
      '--command-timeout',
      '3s',
      '--codec-endpoint',
      server.url,
      '--codec-auth',
      `Bearer ${tokens.acme}`,
    ).then(
      (output) => ({ failed: false, text: output.stdout + output.stderr }),
      (error: { stdout?: string; stderr?: string }) => ({
        failed: true,
        text: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    expect(foreign.failed).toBe(true);
    expect(serverLog.some((line) => /^decode .* tenant\(s\) demo for 'support-acme': 403$/.test(line))).toBe(
      true,
    );
    expect(foreign.text).not.toContain(QUESTION_CANARY);
    expect(foreign.text).not.toContain(DOCUMENT_CANARY);
  });
});
