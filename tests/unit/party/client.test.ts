/**
 * The party client's bounded reads against a real HTTP server on loopback: a response without
 * Content-Length (chunked) that streams past the limit is refused with `invalid_response` and its
 * connection closed after little more than the limit, instead of being buffered whole; a chunked
 * body within the limit arrives intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartyGatewayClient } from '../../../party/index.ts';
import { PublicBodyLimits } from '../../../protocol/public-api.ts';

const SESSION = 'AAAAAAAAAAAAAAAAAAAAAA';
const CHUNK = 64 * 1024;
/** What the endless responses send at most, so a client that buffers everything still ends. */
const STREAM_CAP = 48 * 1024 * 1024;

interface Streamed {
  written: number;
  /** Resolves when the client closed the connection (or the cap was reached). */
  ended: Promise<'closed' | 'capped'>;
}

describe('party client: bounded response bodies', () => {
  let server: Server;
  let base: string;
  const streams: Streamed[] = [];
  const small = randomBytes(40_000);
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

  /** Streams 64 kB chunks without Content-Length, honouring backpressure, until the client goes. */
  function streamForever(res: ServerResponse, status: number, type: string): void {
    const s: Streamed = { written: 0, ended: Promise.resolve('capped') };
    s.ended = new Promise((resolve) => {
      res.on('close', () => resolve(s.written >= STREAM_CAP ? 'capped' : 'closed'));
      res.writeHead(status, { 'content-type': type });
      const chunk = Buffer.alloc(CHUNK, 0x20);
      const pump = (): void => {
        while (!res.destroyed && s.written < STREAM_CAP) {
          s.written += CHUNK;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    streams.push(s);
  }

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = () => new PartyGatewayClient({ gatewayUrl: base, partyKey: 'pk_test_0123456789abcdef', attempts: 1 });

  it('refuses an endless chunked JSON body and closes the connection past 1 MiB', async () => {
    handler = (_req, res) => streamForever(res, 200, 'application/json');
    await expect(client().status(SESSION)).rejects.toMatchObject({
      name: 'PartyError',
      code: 'invalid_response',
      message: expect.stringMatching(/more than the 1048576 expected/),
    });
    const stream = streams.at(-1)!;
    expect(await stream.ended).toBe('closed');
    // Socket buffers on both sides hold a few MB at most; buffering the body would send it all.
    expect(stream.written).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses an endless chunked public key past its own limit', async () => {
    handler = (_req, res) => streamForever(res, 200, 'application/octet-stream');
    await expect(client().publicKey(SESSION, 0)).rejects.toMatchObject({
      name: 'PartyError',
      code: 'invalid_response',
      message: expect.stringContaining(`more than the ${PublicBodyLimits.publicKey} expected`),
    });
    const stream = streams.at(-1)!;
    expect(await stream.ended).toBe('closed');
    expect(stream.written).toBeLessThan(16 * 1024 * 1024);
  });

  it('reads an error body the same way: an endless one is no error body', async () => {
    handler = (_req, res) => streamForever(res, 403, 'application/json');
    await expect(client().status(SESSION)).rejects.toMatchObject({ name: 'PartyError', code: 'invalid_response', extra: { status: 403 } });
    expect(await streams.at(-1)!.ended).toBe('closed');
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(PublicBodyLimits.publicKey + 1) });
      res.write(Buffer.alloc(1024));
    };
    await expect(client().publicKey(SESSION, 0)).rejects.toMatchObject({
      name: 'PartyError',
      code: 'invalid_response',
      message: expect.stringContaining(`${PublicBodyLimits.publicKey + 1} bytes`),
    });
  });

  it('returns a chunked body within the limit byte for byte', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let at = 0; at < small.length; at += 7_000) res.write(small.subarray(at, at + 7_000));
      res.end();
    };
    const { bytes, sha256 } = await client().publicKey(SESSION, 0);
    expect(Buffer.from(bytes).equals(small)).toBe(true);
    expect(sha256).toBe(createHash('sha256').update(small).digest('hex'));
  });
});
