/**
 * The production bundle as the container runs it: `node main.js` (no tsx), from a directory with
 * no node_modules in reach (the bundle carries its dependencies), with the worker
 * entries beside it. It refuses a bad configuration naming the variable, serves a full session
 * whose result decrypts to the cleartext answer, gives the session's memory back once it is
 * deleted, and exits 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EncryptedResult,
  evaluatorPath,
  importSharedSecret,
  fetchEvaluatorIdentity,
  signEvaluatorRequest,
} from '../../../../protocol/evaluator-api.ts';
import { sha256Hex } from '../../../../protocol/bytes.ts';
import { buildEvaluator } from '../../../../evaluator/service/build.ts';
import { explainCodes } from '../../../../model/infer.ts';
import { loadModel } from '../../../../model/private-model.ts';
import { quantizerLevels } from '../../../../model/quantize.ts';
import { loadTestKeys } from '../../../support/tfhe-keys.ts';
import { partyInputs } from './support/inputs.ts';
import { readProgress } from './support/progress.ts';
import { decryptSerialized } from '../../../support/decrypt.ts';

// Outside the repository: no node_modules above it, so the bundle runs only if it is self-contained.
const OUT = mkdtempSync(join(tmpdir(), 'blindscore-evaluator-dist-'));
const SECRET = 'bundle-test-secret-0123456789abcdefghij';
const children: ChildProcess[] = [];

/** Resident bytes of a process, its threads included (Linux `/proc`). */
function rssOf(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

function start(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [join(OUT, 'main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  children.push(child);
  return { child, stdout: () => out, stderr: () => err };
}

beforeAll(async () => {
  await buildEvaluator(OUT);
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(OUT, { recursive: true, force: true });
});

describe('production bundle', () => {
  it('emits the process and every worker entry side by side', () => {
    for (const f of ['main.js', 'expand-worker.js', 'pbs-worker.js']) expect(existsSync(join(OUT, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(OUT, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });
  });

  it('refuses to start on bad configuration, naming the variable', async () => {
    const { child, stderr } = start({ EVALUATOR_SHARED_SECRET: 'too-short', EVALUATOR_PORT: 'eighty' });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(1);
    const line = JSON.parse(stderr().trim()) as { level: string; msg: string; variables: string[] };
    expect(line.level).toBe('fatal');
    expect(line.variables.sort()).toEqual(['EVALUATOR_PORT', 'EVALUATOR_SHARED_SECRET']);
    expect(line.msg).not.toContain('too-short');
  });

  it('serves a full session on its bundled workers, frees its keys when it is deleted, and drains on SIGTERM', async () => {
    const { child, stdout } = start({ EVALUATOR_SHARED_SECRET: SECRET, EVALUATOR_PORT: '0', EVALUATOR_POOL_SIZE: '1' });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout());
        if (m) {
          clearInterval(timer);
          resolve(m[1]!);
        }
      }, 50);
      child.once('exit', () => reject(new Error(`evaluator exited: ${stdout()}`)));
    });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const key = await importSharedSecret(SECRET);
    const bootId = await fetchEvaluatorIdentity(key, (p) => fetch(url + p));
    const signed = async (method: string, path: string, body?: Uint8Array<ArrayBuffer>, type?: string) =>
      fetch(url + path, {
        method,
        headers: {
          ...(await signEvaluatorRequest(key, {
            bootId,
            method,
            pathAndQuery: path,
            contentSha256: await sha256Hex(body ?? new Uint8Array(0)),
          })),
          ...(type ? { 'content-type': type } : {}),
        },
        ...(body ? { body } : {}),
      });
    const served = (await (await signed('GET', '/v1/model')).json()) as { modelVersion: string };
    const id = 'bundle-session-0000000000001';
    const create = new TextEncoder().encode(JSON.stringify({ modelVersion: served.modelVersion }));
    expect((await signed('PUT', evaluatorPath.session(id), create, 'application/json')).status).toBe(201);
    const keyBytes = loadTestKeys('tuniform').compressedServerKeyBytes as Uint8Array<ArrayBuffer>;
    expect((await signed('PUT', evaluatorPath.serverKey(id), keyBytes, 'application/octet-stream')).status).toBe(201);
    // Pre-expansion runs on expand-worker.js; its completion is logged.
    await expect.poll(() => stdout().includes('"msg":"server key expanded"'), { timeout: 60_000 }).toBe(true);

    // The run's bootstraps go to pbs-worker.js; the result decrypts to the cleartext answer.
    const model = await loadModel(readFileSync('model/artifacts/manifest.json', 'utf8'), readFileSync('model/artifacts/tree.json', 'utf8'));
    const codes = Object.fromEntries(model.manifest.inputs.map((i, k) => [i.name, k % quantizerLevels(i.quantizer)]));
    for (const party of ['applicant', 'bank', 'bureau'] as const) {
      const body = new TextEncoder().encode(JSON.stringify(partyInputs(model.manifest, party, loadTestKeys('tuniform').clientKey, codes)));
      expect((await signed('PUT', evaluatorPath.inputs(id, party), body, 'application/json')).status).toBe(201);
    }
    // Resident now: the compressed key (29 MiB) and the expanded one (118 MiB).
    const holding = rssOf(child.pid!);
    expect((await signed('POST', evaluatorPath.run(id))).status).toBe(202);
    const events = await readProgress(await signed('GET', evaluatorPath.progress(id)));
    expect(events.at(-1)!.state).toBe('succeeded');
    const result = EncryptedResult.parse(await (await signed('GET', evaluatorPath.result(id))).json());
    const ck = loadTestKeys('tuniform').clientKey;
    const decision = decryptSerialized(ck, result.decision);
    expect(decision).toBe(explainCodes(model.tree, codes, model.manifest.explanation).decision);

    // Once the session is gone, both keys' memory goes back to the system: every thread that held
    // the expanded key (expansion worker, main thread, bootstrap worker) collects its handle.
    expect((await signed('DELETE', evaluatorPath.session(id))).status).toBe(204);
    await expect.poll(() => holding - rssOf(child.pid!), { timeout: 30_000, interval: 200 }).toBeGreaterThan(100 * 2 ** 20);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(stdout()).toContain('"msg":"evaluator stopped"');
  });
});
