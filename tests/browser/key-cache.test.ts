/// <reference types="mocha" />
/**
 * The opt-in key cache's limits: entries expire after `KEY_CACHE_MAX_AGE_MS` (and are deleted
 * when read after that), and a store that refuses the write still gives the applicant working
 * keys, with a warning instead of a failed check.
 */
import { expect } from '@open-wc/testing';
import { COMPRESSED_SERVER_KEY_BYTES } from '../../protocol/evaluator-api.ts';
import { CryptoWorkerController } from '../../widget/src/crypto/crypto-worker-controller.ts';
import {
  deleteCachedKeys,
  KEY_CACHE_DB,
  KEY_CACHE_MAX_AGE_MS,
  KEY_CACHE_VERSION,
  readCachedKeys,
  writeCachedKeys,
} from '../../widget/src/crypto/key-cache.ts';
import { Host } from './support/controller-host.ts';
import { loadManifest, oracleBytes } from './support/fixtures.ts';

function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Reference keys (node-tfhe, via the oracle) dated `createdAt`, stored under `name`. */
async function storeReferenceKeys(name: string, createdAt: number): Promise<void> {
  const [highLevelKey, publicKey, serverKey] = await Promise.all([
    oracleBytes('high-level-key'),
    oracleBytes('public-key'),
    oracleBytes('server-key'),
  ]);
  await writeCachedKeys(name, { version: KEY_CACHE_VERSION, paramSet: 'tuniform', highLevelKey, publicKey, serverKey, createdAt });
}

// First in this file, before the page itself opens the cache database.
describe('key cache: a store that refuses the write', () => {
  let crypto: CryptoWorkerController | undefined;
  after(async () => {
    crypto?.hostDisconnected();
    // Give the database back its normal shape for whoever opens it next.
    await settle(indexedDB.deleteDatabase(KEY_CACHE_DB));
  });

  it('still returns working keys, with a warning instead of cache_failed', async () => {
    // A database of the cache's name without its object store: every transaction on it fails,
    // as a write does in private browsing or over quota.
    await settle(indexedDB.deleteDatabase(KEY_CACHE_DB));
    (await settle(indexedDB.open(KEY_CACHE_DB, 1))).close();

    crypto = new CryptoWorkerController(new Host());
    const keys = await crypto.request({ type: 'keygen', paramSet: 'tuniform', cacheName: 'refused' });
    expect(keys.fromCache).to.equal(false);
    expect(keys.serverKey.byteLength).to.equal(COMPRESSED_SERVER_KEY_BYTES.tuniform);
    expect(keys.cacheWarning).to.be.a('string').and.to.contain('could not store the keys');

    // The worker holds the key: it encrypts.
    const manifest = await loadManifest();
    const sealed = await crypto.request({
      type: 'encrypt',
      modelVersion: manifest.modelVersion,
      party: 'bureau',
      inputs: manifest.inputs,
      features: { years_employed: '5-8', employed: true },
    });
    expect(Object.keys(sealed.inputs)).to.not.be.empty;
  });
});

describe('key cache: maximum age', () => {
  const name = `expiry-${Math.random().toString(36).slice(2)}`;
  const workers: CryptoWorkerController[] = [];
  after(async () => {
    for (const w of workers) w.hostDisconnected();
    await deleteCachedKeys(name);
  });

  it('is 7 days', () => {
    expect(KEY_CACHE_MAX_AGE_MS).to.equal(7 * 24 * 60 * 60 * 1000);
  });

  it('keeps an entry younger than the maximum age', async () => {
    const createdAt = Date.now() - KEY_CACHE_MAX_AGE_MS + 60_000;
    await storeReferenceKeys(name, createdAt);
    expect((await readCachedKeys(name, 'tuniform'))?.createdAt).to.equal(createdAt);
  });

  it('deletes an entry older than the maximum age when it is read', async () => {
    const createdAt = Date.now() - KEY_CACHE_MAX_AGE_MS - 60_000;
    await storeReferenceKeys(name, createdAt);
    expect(await readCachedKeys(name, 'tuniform')).to.equal(null);
    // Read again as of its creation, when it would be fresh: it is gone, not just skipped.
    expect(await readCachedKeys(name, 'tuniform', createdAt + 1)).to.equal(null);
  });

  it('deletes an entry dated in the future, which would otherwise never expire', async () => {
    const createdAt = Date.now() + 24 * 60 * 60 * 1000;
    await storeReferenceKeys(name, createdAt);
    expect(await readCachedKeys(name, 'tuniform')).to.equal(null);
    expect(await readCachedKeys(name, 'tuniform', createdAt + 1)).to.equal(null);
  });

  it('the worker generates fresh keys over an expired entry and caches them', async () => {
    await storeReferenceKeys(name, Date.now() - KEY_CACHE_MAX_AGE_MS - 60_000);
    const reference = await oracleBytes('public-key');
    const worker = new CryptoWorkerController(new Host());
    workers.push(worker);
    const before = Date.now();
    const keys = await worker.request({ type: 'keygen', paramSet: 'tuniform', cacheName: name });
    expect(keys.fromCache).to.equal(false);
    expect(keys.cacheWarning).to.equal(null);
    expect(keys.publicKey).not.to.deep.equal(reference);
    const stored = await readCachedKeys(name, 'tuniform');
    expect(stored!.publicKey).to.deep.equal(keys.publicKey);
    expect(stored!.createdAt).to.be.at.least(before);
  });
});
