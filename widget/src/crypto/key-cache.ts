/**
 * Opt-in key cache for returning applicants, in the worker's IndexedDB: the client key and the
 * compressed server key of one parameter set under a host-chosen name. Only the worker reads or
 * writes it, so the secret key still never crosses into the page's JavaScript.
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import { z } from 'zod';
import { ParamSetName } from './worker-protocol.ts';

/** Database and object store names; changing them orphans existing caches. */
export const KEY_CACHE_DB = 'blind-score-keys';
const STORE = 'keys';

/** What one cache entry holds. Parsed on read: the store is shared with any script of the origin. */
export const CachedKeys = z
  .object({
    version: z.literal(1),
    paramSet: ParamSetName,
    clientKey: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
    serverKey: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
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
