/**
 * Opt-in key cache for returning applicants, in the worker's IndexedDB: under a host-chosen name,
 * one parameter set's high-level client key (the one secret: the shortint client key is cut out
 * of it again on read), its compact public key and its compressed server key. The element only
 * touches it from its worker, but IndexedDB is per origin: any script of the host's origin can
 * open this database and read the secret. That is the price of `cache-keys`, so entries also
 * expire (`KEY_CACHE_MAX_AGE_MS`) and are deleted when read after that.
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import { z } from 'zod';
import { Bytes, ParamSetName } from './worker-protocol.ts';

/** Database and object store names; changing them orphans existing caches. */
export const KEY_CACHE_DB = 'blind-score-keys';
const STORE = 'keys';

/**
 * The entry format. Version 1 entries (a bare shortint client key, no public key) fail to parse
 * and are regenerated, never misread.
 */
export const KEY_CACHE_VERSION = 2;

/**
 * How long cached keys are used: 7 days. An older entry (or one dated in the future, which would
 * otherwise never expire) is deleted on read and fresh keys are generated.
 */
export const KEY_CACHE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** What one cache entry holds. Parsed on read: the store is shared with any script of the origin. */
export const CachedKeys = z
  .object({
    version: z.literal(KEY_CACHE_VERSION),
    paramSet: ParamSetName,
    /** `TfheClientKey.serialize()` bytes. */
    highLevelKey: Bytes,
    /** `TfheCompactPublicKey.serialize()` bytes. */
    publicKey: Bytes,
    /** `Shortint.serialize_compressed_server_key` bytes of the derived shortint key. */
    serverKey: Bytes,
    createdAt: z.number(),
  })
  .strict();
export type CachedKeys = z.infer<typeof CachedKeys>;

/** The entry name the element uses for a parameter set's keys. */
export const keyCacheName = (paramSet: ParamSetName): string => `blind-score/${paramSet}`;

let store: UseStore | undefined;
const keyStore = () => (store ??= createStore(KEY_CACHE_DB, STORE));

/**
 * The cached keys under `name`, or `null` when absent, malformed, of another parameter set or
 * expired (an expired entry is deleted).
 */
export async function readCachedKeys(name: string, paramSet: ParamSetName, now = Date.now()): Promise<CachedKeys | null> {
  const parsed = CachedKeys.safeParse(await get(name, keyStore()));
  if (!parsed.success || parsed.data.paramSet !== paramSet) return null;
  const age = now - parsed.data.createdAt;
  if (!(age >= 0 && age <= KEY_CACHE_MAX_AGE_MS)) {
    await del(name, keyStore());
    return null;
  }
  return parsed.data;
}

export async function writeCachedKeys(name: string, keys: CachedKeys): Promise<void> {
  await set(name, keys, keyStore());
}

export async function deleteCachedKeys(name: string): Promise<void> {
  await del(name, keyStore());
}
