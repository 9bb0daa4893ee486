/// <reference types="mocha" />
/**
 * The crypto worker against the reference client (node-tfhe 1.6.1, served by the oracle): real
 * key generation in the browser, ciphertexts crossing both ways between the two clients, and the
 * worker's compact public key used by the party SDK, its lists expanded by the engine.
 */
import { expect } from '@open-wc/testing';
import { COMPRESSED_CIPHERTEXT_BYTES, base64ToBytes, bytesToBase64 } from '../../protocol/ciphertexts.ts';
import { COMPRESSED_SERVER_KEY_BYTES } from '../../protocol/evaluator-api.ts';
import { encodePartyInputs } from '../../model/quantize.ts';
import { CryptoWorkerController } from '../../widget/src/crypto/crypto-worker-controller.ts';
import { spawnCryptoWorker } from '../../widget/src/crypto/spawn-worker.ts';
import {
  type CachedKeys,
  deleteCachedKeys,
  KEY_CACHE_VERSION,
  readCachedKeys,
  writeCachedKeys,
} from '../../widget/src/crypto/key-cache.ts';
import type { KeygenResult } from '../../widget/src/crypto/worker-protocol.ts';
import type { BlindScoreError } from '../../widget/src/errors.ts';
import { Host } from './support/controller-host.ts';
import { cacheReferenceKeys, loadManifest, oracle, oracleBytes, TEST_ANSWERS } from './support/fixtures.ts';

/** The 2_2 TUniform compact public key's size in tfhe 1.6.1 (`TfheCompactPublicKey.serialize()`). */
const COMPACT_PUBLIC_KEY_BYTES = 32_888;

/** A result body with a decision that is not a ciphertext. */
const notACiphertext = () => ({ modelVersion: 'ab'.repeat(8), decision: 'AAAA', explanation: { bins: [], ciphertexts: [] } });

async function rejection(p: Promise<unknown>): Promise<BlindScoreError> {
  try {
    await p;
  } catch (e) {
    return e as BlindScoreError;
  }
  throw new Error('expected a rejection');
}

/** Decrypts full ciphertexts in a worker (through a result body, the only decrypt request). */
async function openAll(crypto: CryptoWorkerController, ciphertexts: string[]): Promise<number[]> {
  const [first, ...rest] = ciphertexts;
  const out = await crypto.request({
    type: 'decrypt',
    result: { modelVersion: 'ab'.repeat(8), decision: first!, explanation: { bins: rest.map((_, i) => `b${i}`), ciphertexts: rest } },
  });
  return [out.decision, ...out.explanation];
}

describe('crypto worker: fresh keys', () => {
  const host = new Host();
  const crypto = new CryptoWorkerController(host);
  after(() => crypto.hostDisconnected());

  it('loads the wasm ahead of key generation on a warm request', async () => {
    expect(await crypto.request({ type: 'warm' })).to.deep.equal({ ready: true });
    expect(crypto.started).to.equal(true);
  });

  let keys: KeygenResult;

  it('generates a compressed server key that node-tfhe reads, reporting its steps', async () => {
    const steps: string[] = [];
    const fractions: number[] = [];
    keys = await crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName: null }, (s, f) => {
      steps.push(s);
      if (s === 'server_key') fractions.push(f);
    });
    expect(keys.fromCache).to.equal(false);
    // The engine's generator (fhe/keygen) by default, reporting its progress as it goes.
    expect(keys.serverKeyGenerator).to.equal('engine');
    expect(fractions.length).to.be.greaterThan(10);
    expect(fractions).to.deep.equal([...fractions].sort((a, b) => a - b));
    expect(keys.serverKey.byteLength).to.equal(COMPRESSED_SERVER_KEY_BYTES.tuniform);
    expect(steps).to.include.members(['load_wasm', 'client_key', 'server_key']);
    const check = await oracle<{ ok: boolean }>('server-key-check', keys.serverKey);
    expect(check.ok).to.equal(true);
  });

  it('generates a compact public key of the manifest’s parameter set that parties can use', async () => {
    expect(keys.publicKey.byteLength).to.equal(COMPACT_PUBLIC_KEY_BYTES);
    const check = await oracle<{ ok: boolean; error?: string; info: { lweDimension: number; noise: { kind: string }; expansion: string } }>(
      'public-key-check',
      keys.publicKey,
    );
    expect(check.error).to.equal(undefined);
    expect(check.ok).to.equal(true);
    expect(check.info).to.deep.include({ lweDimension: 2048, expansion: 'no_casting' });
    expect(check.info.noise.kind).to.equal((await loadManifest()).parameterSet.id);
  });

  it('decrypts what the party SDK encrypted under its public key, once the engine expanded and bootstrapped it', async () => {
    const manifest = await loadManifest();
    const { id } = await oracle<{ id: string }>('engine/server-key', keys.serverKey);
    for (const [party, features] of [
      ['bureau', { years_employed: '11-18', employed: true }],
      ['bank', { account_age: 36 }],
      ['bureau', { years_employed: '0-2', employed: false }],
    ] as const) {
      const out = await oracle<{ inputs: { name: string; digits: number }[]; ciphertexts: string[][] }>('party-list', {
        serverKey: id,
        publicKey: bytesToBase64(keys.publicKey),
        party,
        features,
      });
      const decrypted = await openAll(crypto, out.ciphertexts.flat());
      const expected = encodePartyInputs(manifest.inputs, party, features);
      expect(out.inputs.map((i) => i.name)).to.deep.equal(Object.keys(expected));
      expect(decrypted, `${party} ${JSON.stringify(features)}`).to.deep.equal(out.inputs.flatMap((i) => expected[i.name]!));
    }
  });

  it('encrypts quantized answers into 124-byte compressed ciphertexts, one per digit', async () => {
    const manifest = await loadManifest();
    const body = await crypto.request({
      type: 'encrypt',
      modelVersion: manifest.modelVersion,
      party: 'bureau',
      inputs: manifest.inputs,
      features: { years_employed: '11-18', employed: true },
    });
    expect(body).to.include({ party: 'bureau', encoding: 'shortint-compressed', modelVersion: manifest.modelVersion });
    expect(Object.keys(body.inputs).sort()).to.deep.equal(['employed', 'years_employed']);
    expect(body.inputs.years_employed).to.have.length(2);
    for (const digits of Object.values(body.inputs)) {
      for (const b64 of digits) expect(base64ToBytes(b64).byteLength).to.equal(COMPRESSED_CIPHERTEXT_BYTES);
    }
  });

  it('rejects answers outside the feature schema with invalid_features', async () => {
    const manifest = await loadManifest();
    const error = await rejection(
      crypto.request({
        type: 'encrypt',
        modelVersion: manifest.modelVersion,
        party: 'bank',
        inputs: manifest.inputs,
        features: { account_age: -3 },
      }),
    );
    expect(error.code).to.equal('invalid_features');
  });

  it('rejects a malformed request with bad_request and keeps working', async () => {
    const error = await rejection(crypto.request({ type: 'keygen', paramSet: 'nope' as 'tuniform', cacheName: null }));
    expect(error.code).to.equal('bad_request');
    const result = await rejection(crypto.request({ type: 'decrypt', result: notACiphertext() }));
    expect(result.code).to.equal('decrypt_failed');
  });

  it('answers a malformed request only under its own valid id, never under another pending one', async () => {
    const worker = spawnCryptoWorker();
    try {
      const replies: { type: string; id: number }[] = [];
      const warmed = new Promise<void>((resolve) =>
        worker.addEventListener('message', (e: MessageEvent<{ type: string; id: number }>) => {
          replies.push(e.data);
          if (e.data.id === 7 && e.data.type === 'done') resolve();
        }),
      );
      // Requests are handled in order: every answer to these comes before the warm-up's.
      for (const bad of [{ type: 'warm', id: -1 }, { type: 'warm', id: 0.5 }, { type: 'warm', id: 'zero' }, { type: 'warm' }, null, 42])
        worker.postMessage(bad);
      worker.postMessage({ type: 'nope', id: 3 });
      worker.postMessage({ type: 'warm', id: 7 });
      await warmed;
      expect(replies.map((r) => `${r.type} ${r.id}`)).to.deep.equal(['failed 3', 'done 7']);
    } finally {
      worker.terminate();
    }
  });

  it('makes the key with tfhe’s own generator when asked (the fallback, kept for comparison)', async () => {
    const own = await crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName: null, serverKeyGenerator: 'tfhe' });
    expect(own.serverKeyGenerator).to.equal('tfhe');
    expect(own.serverKey.byteLength).to.equal(COMPRESSED_SERVER_KEY_BYTES.tuniform);
    expect((await oracle<{ ok: boolean }>('server-key-check', own.serverKey)).ok).to.equal(true);
  });

  it('makes the Gaussian set’s keys the same way', async () => {
    const gaussian = await crypto.request({ type: 'keygen', paramSet: 'gaussian', cacheName: null });
    expect(gaussian.serverKeyGenerator).to.equal('engine');
    expect(gaussian.serverKey.byteLength).to.equal(COMPRESSED_SERVER_KEY_BYTES.gaussian);
    expect(gaussian.publicKey.byteLength).to.equal(32_900);
    expect((await oracle<{ ok: boolean }>('server-key-check', gaussian.serverKey)).ok).to.equal(true);
    const check = await oracle<{ ok: boolean; error?: string; info: { noise: { kind: string } } }>(
      'public-key-check/gaussian',
      gaussian.publicKey,
    );
    expect(check.error).to.equal(undefined);
    expect(check.info.noise.kind).to.equal('gaussian');
    // And not one of the TUniform set the manifest names.
    expect(await oracle<{ ok: boolean; error: string }>('public-key-check', gaussian.publicKey)).to.include({
      ok: false,
      error: 'public_key_mismatch',
    });
  });

  it('cancel stops a key generation and rejects it with cancelled', async () => {
    const pending = crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName: null });
    setTimeout(() => crypto.cancel(), 200);
    expect((await rejection(pending)).code).to.equal('cancelled');
    expect(crypto.started).to.equal(false);
  });
});

describe('crypto worker: the reference client’s keys, through the key cache', () => {
  const host = new Host();
  const crypto = new CryptoWorkerController(host);
  const cacheName = `oracle-${Math.random().toString(36).slice(2)}`;

  before(() => cacheReferenceKeys(cacheName));
  after(async () => {
    crypto.hostDisconnected();
    await deleteCachedKeys(cacheName);
  });

  it('loads cached keys instead of generating them', async () => {
    const keys = await crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName });
    expect(keys.fromCache).to.equal(true);
    expect(keys.serverKey).to.deep.equal(await oracleBytes('server-key'));
    expect(keys.publicKey).to.deep.equal(await oracleBytes('public-key'));
  });

  it('decrypts full ciphertexts made by node-tfhe', async () => {
    const messages = [0, 1, 2, 3, 3, 2, 1, 0];
    const { ciphertexts } = await oracle<{ ciphertexts: string[] }>('tuniform/encrypt', { messages });
    const [decision, ...explanation] = ciphertexts;
    const out = await crypto.request({
      type: 'decrypt',
      result: {
        modelVersion: 'ab'.repeat(8),
        decision: decision!,
        explanation: { bins: explanation.map((_, i) => `b${i}`), ciphertexts: explanation },
      },
    });
    expect([out.decision, ...out.explanation]).to.deep.equal(messages);
  });

  it('encrypts digits that node-tfhe decrypts to the model’s own quantization', async () => {
    const manifest = await loadManifest();
    const features = { ...TEST_ANSWERS.applicant, total_income: 45_000, own_car: true, num_children: 2 };
    const body = await crypto.request({
      type: 'encrypt',
      modelVersion: manifest.modelVersion,
      party: 'applicant',
      inputs: manifest.inputs,
      features,
    });
    const expected = encodePartyInputs(manifest.inputs, 'applicant', features);
    const names = Object.keys(expected);
    // Only what the model reads: the other answers given are neither encoded nor sent.
    expect(names).to.have.members(manifest.inputs.filter((i) => i.party === 'applicant').map((i) => i.name));
    expect(Object.keys(body.inputs)).to.have.members(names);
    const { messages } = await oracle<{ messages: number[] }>('tuniform/decrypt-compressed', {
      ciphertexts: names.flatMap((n) => body.inputs[n]!),
    });
    expect(messages).to.deep.equal(names.flatMap((n) => expected[n]!));
  });

  it('forget drops the key in the worker and the cache entry', async () => {
    await crypto.request({ type: 'forget', cacheName });
    expect(await readCachedKeys(cacheName, 'tuniform')).to.equal(null);
    const error = await rejection(crypto.request({ type: 'decrypt', result: notACiphertext() }));
    expect(error.code).to.equal('no_keys');
  });
});

describe('crypto worker: the opt-in key cache', () => {
  const cacheName = `cache-${Math.random().toString(36).slice(2)}`;
  const workers: CryptoWorkerController[] = [];
  const worker = () => {
    const c = new CryptoWorkerController(new Host());
    workers.push(c);
    return c;
  };
  after(async () => {
    for (const w of workers) w.hostDisconnected();
    await deleteCachedKeys(cacheName);
  });

  it('regenerates over an entry of the old format instead of misreading it, and stores all three keys', async () => {
    const reference = await Promise.all([oracleBytes('client-key'), oracleBytes('server-key')]);
    // What version 1 stored: a bare shortint client key and its server key.
    const old = { version: 1, paramSet: 'tuniform', clientKey: reference[0], serverKey: reference[1], createdAt: Date.now() };
    await writeCachedKeys(cacheName, old as unknown as CachedKeys);
    expect(await readCachedKeys(cacheName, 'tuniform')).to.equal(null);

    const keys = await worker().request({ type: 'keygen', paramSet: 'tuniform', cacheName });
    expect(keys.fromCache).to.equal(false);
    expect(keys.serverKey).not.to.deep.equal(reference[1]);
    const stored = await readCachedKeys(cacheName, 'tuniform');
    expect(stored).to.not.equal(null);
    expect(stored!.version).to.equal(KEY_CACHE_VERSION);
    expect(stored!.publicKey).to.deep.equal(keys.publicKey);
    expect(stored!.serverKey).to.deep.equal(keys.serverKey);
  });

  it('a new worker restores the same keys: its client key opens what the first sealed, and its public key matches', async () => {
    const manifest = await loadManifest();
    const features = { years_employed: '5-8', employed: true };
    const sealed = await workers[0]!.request({
      type: 'encrypt',
      modelVersion: manifest.modelVersion,
      party: 'bureau',
      inputs: manifest.inputs,
      features,
    });
    const second = worker();
    const keys = await second.request({ type: 'keygen', paramSet: 'tuniform', cacheName });
    expect(keys.fromCache).to.equal(true);
    expect(keys.publicKey).to.deep.equal((await readCachedKeys(cacheName, 'tuniform'))!.publicKey);
    const expected = encodePartyInputs(manifest.inputs, 'bureau', features);

    const names = Object.keys(expected);
    const { ciphertexts } = await oracle<{ ciphertexts: string[] }>('decompress', { ciphertexts: names.flatMap((n) => sealed.inputs[n]!) });
    expect(await openAll(second, ciphertexts)).to.deep.equal(names.flatMap((n) => expected[n]!));

    const { id } = await oracle<{ id: string }>('engine/server-key', keys.serverKey);
    const out = await oracle<{ ciphertexts: string[][] }>('party-list', {
      serverKey: id,
      publicKey: bytesToBase64(keys.publicKey),
      party: 'bureau',
      features,
    });
    expect(await openAll(second, out.ciphertexts.flat())).to.deep.equal(names.flatMap((n) => expected[n]!));
  });

  it('regenerates when the cached secret is not a key of the set', async () => {
    const stored = (await readCachedKeys(cacheName, 'tuniform'))!;
    const broken = stored.highLevelKey.slice();
    new DataView(broken.buffer).setBigUint64(12, 2n, true); // a GLWE secret "bit" of 2
    await writeCachedKeys(cacheName, { ...stored, highLevelKey: broken });
    const keys = await worker().request({ type: 'keygen', paramSet: 'tuniform', cacheName });
    expect(keys.fromCache).to.equal(false);
    expect(keys.publicKey).not.to.deep.equal(stored.publicKey);
  });
});
