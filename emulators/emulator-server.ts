import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { closeServer, listen } from '../net/listen';

export type EmulatorRequest = IncomingMessage | Http2ServerRequest;
export type EmulatorResponse = ServerResponse | Http2ServerResponse;
export type EmulatorHandler = (request: EmulatorRequest, response: EmulatorResponse) => Promise<void>;

export interface EmulatorServer {
  port: number;
  close(): Promise<void>;
}

// Every HTTP/2 connection opens with this preface (RFC 9113 §3.4); HTTP/1.x never starts with it.
const HTTP2_PREFACE_START = Buffer.from('PRI * HTTP/2.0');

/**
 * One loopback port speaking both HTTP/1.1 and cleartext HTTP/2. The AWS SDK's Bedrock Runtime client
 * talks HTTP/2 only (its default handler is NodeHttp2Handler, prior knowledge on http:// endpoints),
 * while fetch, curl and other SDKs such as boto3 talk HTTP/1.1; the first bytes of each connection
 * decide which server takes it.
 */
export async function startEmulatorServer(handler: EmulatorHandler, port: number): Promise<EmulatorServer> {
  const serve = (request: EmulatorRequest, response: EmulatorResponse) => {
    handler(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: `emulator failure: ${String(error)}` }));
    });
  };
  const http1 = createHttp1Server(serve);
  const http2 = createHttp2Server(serve);
  const sockets = new Set<Socket>();
  const tcp = createTcpServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.subarray(0, HTTP2_PREFACE_START.length).equals(HTTP2_PREFACE_START)) {
        // nghttp2 reads the socket's native handle and would never see bytes already read, so the HTTP/2
        // server gets a stream that replays them first.
        http2.emit('connection', replayFirstChunk(socket, first));
      } else {
        socket.unshift(first);
        http1.emit('connection', socket);
        socket.resume();
      }
    });
  });
  // Binds to loopback only: emulators are for tests, benchmarks and local runs, never a shared network.
  return {
    port: await listen(tcp, port, '127.0.0.1'),
    // Requests scripted to hang never finish on their own.
    close: () => closeServer(tcp, () => sockets.forEach((socket) => socket.destroy())),
  };
}

function replayFirstChunk(socket: Socket, first: Buffer): Duplex {
  const replay = new Duplex({
    read: () => socket.resume(),
    write: (chunk: Buffer, _encoding, callback) => socket.write(chunk, callback),
    final: (callback) => socket.end(callback),
    destroy: (error, callback) => {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  replay.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!replay.push(chunk)) socket.pause();
  });
  socket.once('end', () => replay.push(null));
  socket.once('close', () => replay.destroy());
  return replay;
}

export async function readBody(request: EmulatorRequest): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function sendJson(
  response: EmulatorResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(payload));
}

/** Resolves once the bytes are handed to the socket, so a scripted drop never swallows what was sent. */
export function writeChunk(response: EmulatorResponse, chunk: string | Uint8Array): Promise<void> {
  // Both response types write the same way; their overload sets just do not unify in TypeScript.
  const writable = response as ServerResponse;
  return new Promise((resolve, reject) =>
    writable.write(chunk, (error) => (error ? reject(error) : resolve())),
  );
}
