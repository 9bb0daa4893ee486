/**
 * Replays of signed gateway → evaluator requests across restarts and instances, with real
 * evaluator processes on loopback sharing one secret. The nonce cache is per process memory, so
 * without more a captured request would be accepted again by a restarted process or by another
 * instance; every signature is bound to the boot identity of the process it was made for, which
 * each process draws anew at start and proves with the secret on `/identity`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '../../../../protocol/errors.ts';
import {
  EvaluatorIdentityError,
  evaluatorPath,
  fetchEvaluatorIdentity,
  importSharedSecret,
  signEvaluatorRequest,
} from '../../../../protocol/evaluator-api.ts';
import { sha256Hex } from '../../../../protocol/bytes.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from '../../../support/evaluator-process.ts';
import { TEST_SECRET } from './support/harness.ts';

// The model the evaluator process serves (model/artifacts).
const SERVED = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'model', 'artifacts', 'manifest.json'), 'utf8'),
) as {
  modelVersion: string;
};
let key: CryptoKey;
const running: EvaluatorProcess[] = [];

async function start(port: number): Promise<EvaluatorProcess> {
  const p = await startEvaluatorProcess(port, {
    secret: TEST_SECRET,
    env: { EVALUATOR_POOL_SIZE: '1', EVALUATOR_PREEXPAND_KEYS: 'false' },
  });
  running.push(p);
  return p;
}

const identityOf = (p: EvaluatorProcess) => fetchEvaluatorIdentity(key, (path) => fetch(p.url + path));

/** A signed session-creation request for `bootId`, as bytes on the wire: it can be sent again verbatim. */
async function captured(bootId: string): Promise<{ path: string; headers: Record<string, string>; body: string }> {
  const id = `replay-${crypto.randomUUID().replaceAll('-', '')}`;
  const path = evaluatorPath.session(id);
  const body = JSON.stringify({ modelVersion: SERVED.modelVersion });
  const signed = await signEvaluatorRequest(key, { bootId, method: 'PUT', pathAndQuery: path, contentSha256: await sha256Hex(body) });
  return { path, body, headers: { ...signed, 'content-type': 'application/json' } };
}

async function send(
  p: EvaluatorProcess,
  req: { path: string; headers: Record<string, string>; body: string },
): Promise<{ status: number; code?: string }> {
  const res = await fetch(p.url + req.path, { method: 'PUT', headers: req.headers, body: req.body });
  if (res.ok) {
    await res.body?.cancel();
    return { status: res.status };
  }
  return { status: res.status, code: ErrorBody.parse(await res.json()).code };
}

beforeAll(async () => {
  key = await importSharedSecret(TEST_SECRET);
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

describe('signed requests are bound to one evaluator boot', () => {
  it('a captured request is refused after the evaluator restarts, and the caller re-learns the new identity', async () => {
    const port = await freePort();
    const first = await start(port);
    const boot1 = await identityOf(first);
    const req = await captured(boot1);
    expect(await send(first, req)).toEqual({ status: 201 });
    expect(await send(first, req)).toEqual({ status: 401, code: 'replayed_request' });

    await first.stop();
    const second = await start(port);
    // The restarted process's nonce cache is empty: only the boot identity refuses the replay.
    expect(await send(second, req)).toEqual({ status: 401, code: 'boot_mismatch' });
    const boot2 = await identityOf(second);
    expect(boot2).not.toBe(boot1);
    const fresh = await captured(boot2);
    expect(await send(second, fresh)).toEqual({ status: 201 });
    expect(await send(second, fresh)).toEqual({ status: 401, code: 'replayed_request' });
  });

  it('two instances sharing the secret: a request made for one is refused by the other', async () => {
    const [a, b] = await Promise.all([freePort().then(start), freePort().then(start)]);
    const [bootA, bootB] = await Promise.all([identityOf(a!), identityOf(b!)]);
    expect(bootA).not.toBe(bootB);
    const forA = await captured(bootA);
    expect(await send(b!, forA)).toEqual({ status: 401, code: 'boot_mismatch' });
    expect(await send(a!, forA)).toEqual({ status: 201 });
    // Sent to A first, then captured and sent to B: still refused.
    const forA2 = await captured(bootA);
    expect(await send(a!, forA2)).toEqual({ status: 201 });
    expect(await send(b!, forA2)).toEqual({ status: 401, code: 'boot_mismatch' });
  });

  it('an identity is believed only with a proof under the shared secret and the caller\u2019s fresh challenge', async () => {
    const p = running.at(-1)!;
    const challenge = '0123456789abcdef0123456789abcdef';
    const answer = await (await fetch(`${p.url}/identity?challenge=${challenge}`)).json();
    // A recorded answer does not satisfy a new handshake (another challenge).
    await expect(fetchEvaluatorIdentity(key, async () => Response.json(answer))).rejects.toThrow(EvaluatorIdentityError);
    // Nor does a live answer checked with another secret.
    const other = await importSharedSecret('another-shared-secret-0123456789abcdef-xyz');
    await expect(fetchEvaluatorIdentity(other, (path) => fetch(p.url + path))).rejects.toMatchObject({ reason: 'refused' });
    expect((await fetch(`${p.url}/identity?challenge=nothex`)).status).toBe(400);
  });
});
