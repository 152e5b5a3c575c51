import type { AddressInfo, Server } from 'node:net';

/** Starts `server` listening (on every interface when no host is given); resolves with the bound port, rejects on a bind error. */
export async function listen(server: Server, port: number, host?: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting connections and resolves once the open ones are gone; `dropConnections` ends those
 * that would otherwise keep it waiting (keep-alive, requests that never finish).
 */
export function closeServer(server: Server, dropConnections: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    dropConnections();
  });
}
