/**
 * Port checks before anything is spawned, so a taken port is reported by name with the option
 * that moves it, rather than as a service's crash a few seconds later.
 */
import { createServer } from 'node:net';

export const HOST = '127.0.0.1';

/** Whether `port` can be bound on the loopback interface right now. */
export function isPortFree(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(false);
      else reject(e);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` distinct loopback ports nothing listens on right now (the OS picks them; all are held
 * open together so none is handed out twice).
 */
export async function freePorts(count: number, host = HOST): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, host, () => {
              const address = server.address();
              if (typeof address === 'object' && address) resolve(address.port);
              else reject(new Error('no port assigned'));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => (server.listening ? server.close(resolve) : resolve(undefined)))));
  }
}

export interface PortClaim {
  port: number;
  /** What would listen there, e.g. "the gateway". */
  service: string;
  /** How to choose another, e.g. "--gateway-port or BLINDSCORE_GATEWAY_PORT". */
  howToChange: string;
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly taken: readonly PortClaim[]) {
    super(
      taken
        .map(
          (c) =>
            `Port ${c.port} (${c.service}) is already in use on ${HOST}. Stop what uses it, or choose another port with ${c.howToChange}.`,
        )
        .join('\n'),
    );
  }
}

/** Throws {@link PortInUseError} naming every taken port. */
export async function assertPortsFree(claims: readonly PortClaim[]): Promise<void> {
  const taken: PortClaim[] = [];
  for (const claim of claims) if (!(await isPortFree(claim.port))) taken.push(claim);
  if (taken.length > 0) throw new PortInUseError(taken);
}
