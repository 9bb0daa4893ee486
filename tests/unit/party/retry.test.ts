/**
 * The party client's retries against a real HTTP server on loopback: the 503 `text/plain` that
 * wrangler's dev proxy answers when its connection to the Worker drops ("Your worker restarted
 * mid-request", `Retry-After: 0`) and the gateway's own 429/503 are retried with jitter, within
 * bounded tries and time; a refusal is not retried. Plus the policy's arithmetic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartyGatewayClient } from '../../../party/index.ts';
import { DEFAULT_RETRY_POLICY, nextRetryDelay, parseRetryAfter, retryDelayMs } from '../../../protocol/retry.ts';

const SESSION = 'AAAAAAAAAAAAAAAAAAAAAA';
const KEY = 'sk_test_retry_0123456789abcdef0123456789';
const STATUS = {
  sessionId: SESSION,
  state: 'created',
  demo: false,
  modelVersion: '0123456789abcdef',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:30:00.000Z',
  serverKey: { received: false },
  publicKey: { received: false },
  parties: { received: [], missing: ['applicant', 'bank', 'bureau'] },
  run: { state: 'idle', stage: 'idle', completed: 0, total: 0, fraction: 0 },
  attempts: 0,
};
const WRANGLER_RESTART =
  'Your worker restarted mid-request. Please try sending the request again. Only GET or HEAD requests are retried automatically.';

let server: Server;
let base: string;
let script: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
let seen: number[] = [];

function reply(status: number, body: string, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}
const restarted = reply(503, WRANGLER_RESTART, { 'content-type': 'text/plain;charset=UTF-8', 'retry-after': '0' });
const ok = (req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    res.writeHead(req.method === 'PUT' ? 201 : 200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        req.method === 'PUT'
          ? { party: 'bank', sha256: 'a'.repeat(64), duplicate: body.length === 0, received: ['bank'], missing: ['applicant', 'bureau'] }
          : STATUS,
      ),
    );
  });
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(Date.now());
    const next = script.shift();
    if (next) next(req, res);
    else reply(500, 'script exhausted')(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(options: { attempts?: number; retryBudgetMs?: number } = {}) {
  script = [];
  seen = [];
  return new PartyGatewayClient({ gatewayUrl: base, partyKey: KEY, ...options });
}

describe('party client retries', () => {
  it('retries the dev proxy\u2019s non-JSON 503 and the gateway\u2019s 429/503, honouring retry-after', async () => {
    const c = client();
    script = [
      restarted,
      reply(429, JSON.stringify({ code: 'rate_limited', message: 'slow down', retriable: true }), {
        'content-type': 'application/json',
        'retry-after': '1',
      }),
      reply(503, JSON.stringify({ code: 'evaluator_unavailable', message: 'busy', retriable: true }), {
        'content-type': 'application/json',
        'retry-after': '0',
      }),
      ok,
    ];
    const status = await c.status(SESSION);
    expect(status.sessionId).toBe(SESSION);
    expect(seen).toHaveLength(4);
    // The 429's retry-after (1 s) was waited for, plus jitter of at most a quarter.
    expect(seen[2]! - seen[1]!).toBeGreaterThanOrEqual(1000);
  });

  it('retries an idempotent upload after the dev proxy dropped it', async () => {
    const c = client();
    script = [restarted, restarted, ok];
    const accepted = await c.uploadInputs(SESSION, 'bank', {
      modelVersion: '0123456789abcdef',
      party: 'bank',
      encoding: 'compact-list',
      inputs: [{ name: 'account_age', digits: 2 }],
      list: 'AAAA',
    });
    expect(accepted.received).toEqual(['bank']);
    expect(seen).toHaveLength(3);
  });

  it('stops after the tries it is given, and reports the last answer as retriable', async () => {
    const c = client({ attempts: 3 });
    script = [restarted, restarted, restarted, ok];
    await expect(c.status(SESSION)).rejects.toMatchObject({
      name: 'PartyError',
      code: 'invalid_response',
      extra: { status: 503, retriable: true },
    });
    expect(seen).toHaveLength(3);
  });

  it('stops when the next wait would pass the time budget', async () => {
    const c = client({ retryBudgetMs: 2_000 });
    script = [
      reply(503, JSON.stringify({ code: 'evaluator_unavailable', message: 'busy', retriable: true }), {
        'content-type': 'application/json',
        'retry-after': '5',
      }),
      ok,
    ];
    const started = Date.now();
    await expect(c.status(SESSION)).rejects.toMatchObject({ code: 'evaluator_unavailable' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seen).toHaveLength(1);
  });

  it('does not retry a refusal', async () => {
    const c = client();
    script = [reply(401, JSON.stringify({ code: 'invalid_party_key', message: 'no' }), { 'content-type': 'application/json' }), ok];
    await expect(c.status(SESSION)).rejects.toMatchObject({ code: 'invalid_party_key' });
    expect(seen).toHaveLength(1);
  });
});

describe('retry policy', () => {
  it('reads retry-after as seconds or an HTTP-date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('spreads waits with jitter, within the cap', () => {
    const p = DEFAULT_RETRY_POLICY;
    expect(retryDelayMs(p, 0, 0, () => 0)).toBe(0);
    expect(retryDelayMs(p, 0, 0, () => 0.999)).toBeGreaterThan(90);
    expect(retryDelayMs(p, 0, 2_000, () => 0.5)).toBe(2_250);
    expect(retryDelayMs(p, 0, 600_000, () => 0.5)).toBe(p.maxDelayMs);
    expect(retryDelayMs(p, 3, undefined, () => 0)).toBe(1_000);
    expect(retryDelayMs(p, 3, undefined, () => 0.999)).toBeLessThan(2_000);
    const spread = new Set(Array.from({ length: 50 }, () => Math.round(retryDelayMs(p, 2, undefined))));
    expect(spread.size).toBeGreaterThan(10);
  });

  it('bounds tries and total time', () => {
    const p = { ...DEFAULT_RETRY_POLICY, attempts: 3, budgetMs: 10_000 };
    expect(nextRetryDelay(p, 1, 0, 0)).toBeDefined();
    expect(nextRetryDelay(p, 2, 0, 0)).toBeUndefined();
    expect(nextRetryDelay(p, 0, 9_000, 2_000)).toBeUndefined();
  });
});
