/**
 * Opt-in key cache for returning applicants, in the worker's IndexedDB: under a host-chosen name,
 * one parameter set's high-level client key (the one secret: the shortint client key is cut out
 * of it again on read), its compact public key and its compressed server key. Only the worker
 * reads or writes it, so the secret key still never crosses into the page's JavaScript.
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

/** The cached keys under `name`, or `null` when absent, malformed or of another parameter set. */
export async function readCachedKeys(name: string, paramSet: ParamSetName): Promise<CachedKeys | null> {
  const parsed = CachedKeys.safeParse(await get(name, keyStore()));
  if (!parsed.success || parsed.data.paramSet !== paramSet) return null;
  return parsed.data;
}

export async function writeCachedKeys(name: string, keys: CachedKeys): Promise<void> {
  await set(name, keys, keyStore());
}

export async function deleteCachedKeys(name: string): Promise<void> {
  await del(name, keyStore());
}
