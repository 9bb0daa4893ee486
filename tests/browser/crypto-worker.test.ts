/// <reference types="mocha" />
/**
 * The crypto worker against the reference client (node-tfhe 1.6.1, served by the oracle): real
 * key generation in the browser, and ciphertexts crossing both ways between the two clients.
 */
import { expect } from '@open-wc/testing';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { COMPRESSED_CIPHERTEXT_BYTES, base64ToBytes } from '../../protocol/ciphertexts.ts';
import { COMPRESSED_SERVER_KEY_BYTES } from '../../protocol/evaluator-api.ts';
import { featuresOf } from '../../model/features.ts';
import { encodePartyInputs } from '../../model/quantize.ts';
import { CryptoWorkerController } from '../../widget/src/crypto/crypto-worker-controller.ts';
import { deleteCachedKeys, readCachedKeys, writeCachedKeys } from '../../widget/src/crypto/key-cache.ts';
import type { BlindScoreError } from '../../widget/src/errors.ts';
import { loadManifest, oracle, TEST_ANSWERS } from './support/fixtures.ts';

/** The smallest host a controller needs. */
class Host implements ReactiveControllerHost {
  controllers: ReactiveController[] = [];
  addController(c: ReactiveController) {
    this.controllers.push(c);
  }
  removeController() {}
  requestUpdate() {}
  updateComplete = Promise.resolve(true);
}

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

describe('crypto worker: fresh keys', () => {
  const host = new Host();
  const crypto = new CryptoWorkerController(host);
  after(() => crypto.hostDisconnected());

  it('loads the wasm ahead of key generation on a warm request', async () => {
    expect(await crypto.request({ type: 'warm' })).to.deep.equal({ ready: true });
    expect(crypto.started).to.equal(true);
  });

  it('generates a compressed server key that node-tfhe reads, reporting its steps', async () => {
    const steps: string[] = [];
    const keys = await crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName: null }, (s) => steps.push(s));
    expect(keys.fromCache).to.equal(false);
    expect(keys.serverKey.byteLength).to.equal(COMPRESSED_SERVER_KEY_BYTES.tuniform);
    expect(steps).to.include.members(['load_wasm', 'client_key', 'server_key']);
    const check = await oracle<{ ok: boolean }>('server-key-check', keys.serverKey);
    expect(check.ok).to.equal(true);
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

  before(async () => {
    const [clientKey, serverKey] = await Promise.all(
      ['client-key', 'server-key'].map(async (k) => new Uint8Array(await (await fetch(`/oracle/tuniform/${k}`)).arrayBuffer())),
    );
    await writeCachedKeys(cacheName, { version: 1, paramSet: 'tuniform', clientKey: clientKey!, serverKey: serverKey!, createdAt: Date.now() });
  });
  after(async () => {
    crypto.hostDisconnected();
    await deleteCachedKeys(cacheName);
  });

  it('loads cached keys instead of generating them', async () => {
    const keys = await crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName });
    expect(keys.fromCache).to.equal(true);
    expect(keys.serverKey.byteLength).to.equal(COMPRESSED_SERVER_KEY_BYTES.tuniform);
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
    expect(names).to.have.members(featuresOf('applicant'));
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
