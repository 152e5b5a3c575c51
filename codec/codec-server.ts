// Long by design: one HTTP server: its endpoints, token and cookie auth, CORS and per-tenant decoding share state.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import {
  ALL_TENANTS,
  describeScope,
  mayDecodeTenant,
  type CodecAccess,
  type CodecTokenVerifier,
} from './codec-access-tokens';
import {
  decryptPayload,
  encryptPayload,
  isEncryptedPayload,
  payloadTenant,
} from './payload-encryption-codec';
import type { PayloadKeyring } from './payload-keyring';
import { listen } from '../net/listen';

export interface CodecServerOptions {
  keyring: PayloadKeyring;
  tokens: CodecTokenVerifier;
  /** Default 127.0.0.1: a codec server decrypts customer data, so exposing it is a deliberate choice. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Exact browser origins (scheme://host:port) allowed to call it: the Temporal UI's. */
  allowedOrigins: readonly string[];
  /** Served over HTTPS (directly or behind a proxy): session cookies become `SameSite=None; Secure`. */
  secureCookies?: boolean;
  /** Default 16 MiB; a history payload is at most 2 MB. */
  maxBodyBytes?: number;
  /** Default 8 h. */
  sessionTtlMs?: number;
  /** One line per request: who decoded or encoded how many payloads of which tenants, and the outcome. */
  log?: (line: string) => void;
}

export interface CodecServerHandle {
  /** Base URL: give it to `temporal --codec-endpoint` and the Temporal UI. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const SESSION_COOKIE = 'gatehouse_codec_session';
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const ALLOWED_HEADERS = ['authorization', 'content-type', 'x-namespace'];

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
/** Payloads as protobuf JSON, the codec protocol's body: bytes fields are base64 strings. */
const payloadsBodySchema = z.object({
  payloads: z.array(z.object({ metadata: z.record(base64).nullish(), data: base64.nullish() })).default([]),
});
type JsonPayload = z.infer<typeof payloadsBodySchema>['payloads'][number];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) cookies.set(part.slice(0, index).trim(), part.slice(index + 1).trim());
  }
  return cookies;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}input{font:inherit;width:100%;padding:.4rem}button{font:inherit;padding:.4rem 1rem;margin-top:.6rem}code{background:#eee;padding:0 .2rem}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * Temporal's remote codec endpoint (`POST …/encode`, `POST …/decode`, protobuf-JSON payloads) for the
 * Temporal UI and `temporal --codec-endpoint`. Every call needs an operator token — a bearer header
 * (the CLI's `--codec-auth`) or a session cookie from this server's sign-in page (the UI, which sends
 * cookies with "include cross-origin credentials") — and decodes only payloads of the tenants that
 * token is scoped to. Payloads labelled with no tenant need an all-tenants token.
 */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServerHandle> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const allowedOrigins = new Set(options.allowedOrigins.map((origin) => origin.replace(/\/$/, '')));
  const log = options.log ?? (() => undefined);
  /** Session id → the token it was opened with, verified again on every call so revocation is immediate. */
  const sessions = new Map<string, { token: string; expiresAt: number }>();

  const corsHeaders = (request: IncomingMessage): Record<string, string> => {
    const origin = request.headers.origin;
    if (origin === undefined || !allowedOrigins.has(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    };
  };

  const authenticate = (request: IncomingMessage): CodecAccess => {
    const header = request.headers.authorization;
    let token: string | undefined;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) throw new HttpError(401, 'the Authorization header must be "Bearer <token>"');
      token = match[1];
    } else {
      const sessionId = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
      const session = sessionId === undefined ? undefined : sessions.get(sessionId);
      if (session && session.expiresAt > Date.now()) token = session.token;
      else if (sessionId !== undefined) sessions.delete(sessionId);
    }
    if (token === undefined) {
      throw new HttpError(
        401,
        'an operator token is required: Authorization: Bearer <token>, or sign in at this server',
        {
          'www-authenticate': 'Bearer realm="gatehouse-codec"',
        },
      );
    }
    const access = options.tokens.verify(token);
    if (!access) {
      throw new HttpError(401, 'the operator token is not valid (unknown or revoked)', {
        'www-authenticate': 'Bearer realm="gatehouse-codec", error="invalid_token"',
      });
    }
    return access;
  };

  const decode = (access: CodecAccess, payloads: Payload[]): Payload[] => {
    const refused = new Set<string>();
    for (const payload of payloads) {
      if (!isEncryptedPayload(payload)) continue;
      const tenant = payloadTenant(payload);
      if (!mayDecodeTenant(access, tenant)) refused.add(tenant === undefined ? '(no tenant)' : `'${tenant}'`);
    }
    if (refused.size > 0) {
      throw new HttpError(
        403,
        `token '${access.name}' may decode payloads of ${describeScope(access)} only; this request holds payloads of ${[...refused].join(', ')}` +
          (refused.has('(no tenant)') ? ' (payloads that name no tenant need an all-tenants token)' : ''),
      );
    }
    return payloads.map((payload) => {
      try {
        return decryptPayload(payload, options.keyring);
      } catch (error) {
        throw new HttpError(422, (error as Error).message);
      }
    });
  };

  const encode = (access: CodecAccess, payloads: Payload[]): Payload[] => {
    // No workflow context reaches this endpoint: a token scoped to one tenant labels what it encodes
    // with that tenant, so its holder can read it back; anything else stays unlabelled.
    const tenants = access.tenants === ALL_TENANTS ? [] : [...access.tenants];
    const tenant = tenants.length === 1 ? tenants[0] : undefined;
    return payloads.map((payload) => encryptPayload(payload, options.keyring, tenant));
  };

  const send = (
    response: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string,
    contentType = 'application/json',
  ) => {
    response.writeHead(status, {
      'content-type': contentType,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    response.end(body);
  };

  const signInPage = (message = '') =>
    page(
      'Gatehouse codec server',
      `${message}<p>Sign in with an operator token so that the Temporal UI in this browser can decode the payloads your token is scoped to.</p>
<form method="post" action="session"><label>Operator token<br><input name="token" type="password" autocomplete="off" required></label><br><button type="submit">Sign in</button></form>
<p>Then, in the Temporal UI, open the codec server settings (the data encoder icon), choose "Use my browser setting", set the endpoint to this server's address and tick "Include cross-origin credentials".</p>`,
    );

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://codec.invalid');
    const lastSegment = url.pathname.replace(/\/+$/, '').split('/').pop() ?? '';
    const cors = corsHeaders(request);

    if (request.method === 'OPTIONS') {
      if (Object.keys(cors).length === 0) {
        send(
          response,
          403,
          {},
          JSON.stringify({ error: `origin ${request.headers.origin ?? '(none)'} is not allowed` }),
        );
        return;
      }
      const requested = (request.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean);
      const unknown = requested.filter((name) => !ALLOWED_HEADERS.includes(name));
      if (unknown.length > 0) {
        send(response, 403, cors, JSON.stringify({ error: `headers not allowed: ${unknown.join(', ')}` }));
        return;
      }
      response.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS.join(', '),
        'access-control-max-age': '600',
        // Chrome asks before a public page (e.g. Temporal Cloud's UI) may call a loopback address.
        ...(request.headers['access-control-request-private-network'] === 'true'
          ? { 'access-control-allow-private-network': 'true' }
          : {}),
      });
      response.end();
      return;
    }

    if (request.method === 'POST' && (lastSegment === 'decode' || lastSegment === 'encode')) {
      const access = authenticate(request);
      const body = await readBody(request, maxBodyBytes);
      let parsed: z.infer<typeof payloadsBodySchema>;
      try {
        const result = payloadsBodySchema.safeParse(JSON.parse(body.toString('utf8')));
        if (!result.success)
          throw new Error(
            result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
          );
        parsed = result.data;
      } catch (error) {
        throw new HttpError(
          400,
          `expected {"payloads": [...]} as protobuf JSON: ${(error as Error).message}`,
        );
      }
      const payloads = parsed.payloads.map(fromJson);
      const tenants = [...new Set(payloads.map((payload) => payloadTenant(payload) ?? '-'))].join(',');
      try {
        const converted = lastSegment === 'decode' ? decode(access, payloads) : encode(access, payloads);
        log(
          `${lastSegment} ${payloads.length} payload(s) of tenant(s) ${tenants || '-'} for '${access.name}': 200`,
        );
        send(response, 200, cors, JSON.stringify({ payloads: converted.map(toJson) }));
      } catch (error) {
        if (error instanceof HttpError) {
          log(
            `${lastSegment} ${payloads.length} payload(s) of tenant(s) ${tenants || '-'} for '${access.name}': ${error.status}`,
          );
        }
        throw error;
      }
      return;
    }

    if (request.method === 'GET' && (url.pathname === '/' || url.pathname === '/session')) {
      send(
        response,
        200,
        {
          'x-frame-options': 'DENY',
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        },
        signInPage(),
        'text/html; charset=utf-8',
      );
      return;
    }

    if (request.method === 'POST' && url.pathname === '/session') {
      const form = new URLSearchParams((await readBody(request, 64 * 1024)).toString('utf8'));
      const token = form.get('token')?.trim() ?? '';
      const access = token === '' ? undefined : options.tokens.verify(token);
      const htmlHeaders = {
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      };
      if (!access) {
        log(`sign-in refused: invalid token`);
        send(
          response,
          401,
          htmlHeaders,
          signInPage('<p><strong>That token is not valid.</strong></p>'),
          'text/html; charset=utf-8',
        );
        return;
      }
      const sessionId = randomBytes(32).toString('base64url');
      sessions.set(sessionId, { token, expiresAt: Date.now() + sessionTtlMs });
      const sameSite = options.secureCookies ? 'SameSite=None; Secure' : 'SameSite=Lax';
      log(`sign-in: '${access.name}' (${describeScope(access)})`);
      send(
        response,
        200,
        {
          ...htmlHeaders,
          'set-cookie': `${SESSION_COOKIE}=${sessionId}; HttpOnly; Path=/; ${sameSite}; Max-Age=${Math.floor(sessionTtlMs / 1000)}`,
        },
        page(
          'Signed in',
          `<p>Signed in as <code>${escapeHtml(access.name)}</code>, scoped to ${escapeHtml(describeScope(access))}, for ${Math.round(sessionTtlMs / 3_600_000)} hours in this browser.</p><p>In the Temporal UI's codec server settings choose "Use my browser setting", set the endpoint to this server's address and tick "Include cross-origin credentials".</p>`,
        ),
        'text/html; charset=utf-8',
      );
      return;
    }

    if (request.method === 'GET' && url.pathname === '/health') {
      send(response, 200, cors, JSON.stringify({ status: 'ok', activeKeyId: options.keyring.activeKeyId }));
      return;
    }

    throw new HttpError(
      404,
      `no route for ${request.method} ${url.pathname}: use POST …/encode or POST …/decode`,
    );
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const status = error instanceof HttpError ? error.status : 500;
      const headers = error instanceof HttpError ? error.headers : {};
      // Messages name tokens, tenants and key ids only: never payload content.
      const message = error instanceof HttpError ? error.message : 'internal error';
      if (!(error instanceof HttpError)) log(`internal error: ${(error as Error).message}`);
      send(response, status, { ...corsHeaders(request), ...headers }, JSON.stringify({ error: message }));
    });
  });
  // Sessions expire; forgetting them keeps memory bounded on a long-running server.
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, session] of sessions) if (session.expiresAt <= now) sessions.delete(id);
  }, 60_000);
  sweeper.unref();

  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      clearInterval(sweeper);
      sessions.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
