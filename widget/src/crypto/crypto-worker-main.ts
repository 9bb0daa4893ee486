/**
 * The crypto worker's logic: loads tfhe's wasm on first use, holds the applicant's client key, and
 * answers keygen (client key, compact public key, compressed server key) / encrypt / decrypt /
 * forget requests (see `worker-protocol.ts`). Requests run one at a time, in order; key
 * generation blocks this thread for seconds, never the page's.
 */
import '../zod-config.ts';
import type * as Tfhe from 'tfhe';
import { base64ToBytes, bytesToBase64 } from '../../../protocol/ciphertexts.ts';
import { encodePartyInputs } from '../../../model/quantize.ts';
import { deleteCachedKeys, KEY_CACHE_VERSION, readCachedKeys, writeCachedKeys } from './key-cache.ts';
import {
  chooseServerKeyGenerator,
  clientKeyFromHighLevel,
  compressedServerKeyBytes,
  decryptCiphertext,
  encryptDigit,
  engineCompressedServerKeyBytes,
  newApplicantKeys,
  warmDecryption,
} from './tfhe-client.ts';
import { tfheWasmSource } from './wasm-source.ts';
import { DevWarning, warnOnce } from '../dev-warnings.ts';
import {
  RequestId,
  WorkerRequest,
  type ParamSetName,
  type WorkerErrorCode,
  type WorkerMessage,
  type WorkerResults,
  type WorkerStep,
} from './worker-protocol.ts';
import { sha256Hex } from '../../../protocol/bytes.ts';

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;

/** A failure with a code the page can act on. */
class WorkerFailure extends Error {
  constructor(
    readonly code: WorkerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type TfheModule = typeof Tfhe;
let tfheModule: Promise<TfheModule> | undefined;
let keys: { paramSet: string; clientKey: Tfhe.ShortintClientKey } | undefined;

function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** Loads tfhe and its wasm once; a failed load may be retried by the next request. */
function loadTfhe(): Promise<TfheModule> {
  tfheModule ??= (async () => {
    const tfhe = await import('tfhe');
    const source = await tfheWasmSource();
    await tfhe.default(source === undefined ? undefined : { module_or_path: source });
    return tfhe;
  })().catch((e: unknown) => {
    tfheModule = undefined;
    throw new WorkerFailure('wasm_load_failed', `could not load the tfhe wasm: ${String(e)}`);
  });
  return tfheModule;
}

type KeysWithoutHash = Omit<WorkerResults['keygen'], 'serverKeySha256'>;

async function keygen(
  req: Extract<WorkerRequest, { type: 'keygen' }>,
  progress: (step: WorkerStep, fraction: number) => void,
): Promise<WorkerResults['keygen']> {
  const keys = await makeOrLoadKeys(req, progress);
  warmDecryption(await loadTfhe(), requireKeys());
  return { ...keys, serverKeySha256: await sha256Hex(keys.serverKey) };
}

async function makeOrLoadKeys(
  req: Extract<WorkerRequest, { type: 'keygen' }>,
  progress: (step: WorkerStep, fraction: number) => void,
): Promise<KeysWithoutHash> {
  progress('load_wasm', 0);
  const tfhe = await loadTfhe();
  if (req.cacheName !== null) {
    progress('cache_read', 0.05);
    const cached = await readCachedKeys(req.cacheName, req.paramSet).catch(() => null);
    const clientKey = cached ? restoreClientKey(tfhe, req.paramSet, cached.highLevelKey) : null;
    if (cached && clientKey) {
      replaceKeys(req.paramSet, clientKey);
      return {
        serverKey: cached.serverKey,
        publicKey: cached.publicKey,
        paramSet: req.paramSet,
        fromCache: true,
        serverKeyGenerator: null,
        cacheWarning: null,
      };
    }
  }
  progress('client_key', 0.1);
  const { highLevelKey, clientKey, publicKey } = newApplicantKeys(tfhe, req.paramSet);
  try {
    progress('server_key', 0.15);
    const generator = chooseServerKeyGenerator(req.serverKeyGenerator);
    let serverKey: Uint8Array;
    try {
      serverKey =
        generator === 'engine'
          ? engineCompressedServerKeyBytes(tfhe, req.paramSet, highLevelKey, (f) => progress('server_key', 0.15 + 0.8 * f))
          : compressedServerKeyBytes(tfhe, clientKey);
    } catch (e) {
      clientKey.free();
      throw e;
    }
    replaceKeys(req.paramSet, clientKey);
    let cacheWarning: string | null = null;
    if (req.cacheName !== null) {
      progress('cache_write', 0.95);
      // The cache only saves the next visit a key generation: a store that refuses the write
      // (private browsing, quota, a broken database) costs that, not this check.
      try {
        await writeCachedKeys(req.cacheName, {
          version: KEY_CACHE_VERSION,
          paramSet: req.paramSet,
          highLevelKey,
          publicKey,
          serverKey,
          createdAt: Date.now(),
        });
      } catch (e) {
        cacheWarning = `could not store the keys: ${String(e)}`;
      }
    }
    return { serverKey, publicKey, paramSet: req.paramSet, fromCache: false, serverKeyGenerator: generator, cacheWarning };
  } finally {
    highLevelKey.fill(0);
  }
}

/** The client key of a cache entry, or `null` when its secret is not a key of the set (regenerate). */
function restoreClientKey(tfhe: TfheModule, paramSet: ParamSetName, highLevelKey: Uint8Array): Tfhe.ShortintClientKey | null {
  try {
    return clientKeyFromHighLevel(tfhe, paramSet, highLevelKey);
  } catch {
    return null;
  } finally {
    highLevelKey.fill(0);
  }
}

function replaceKeys(paramSet: string, clientKey: Tfhe.ShortintClientKey): void {
  keys?.clientKey.free();
  keys = { paramSet, clientKey };
}

function requireKeys(): Tfhe.ShortintClientKey {
  if (!keys) throw new WorkerFailure('no_keys', 'generate or load keys first');
  return keys.clientKey;
}

async function encrypt(
  req: Extract<WorkerRequest, { type: 'encrypt' }>,
  progress: (step: WorkerStep, fraction: number) => void,
): Promise<WorkerResults['encrypt']> {
  let digits: Record<string, number[]>;
  try {
    digits = encodePartyInputs(req.inputs, req.party, req.features);
  } catch (e) {
    throw new WorkerFailure('invalid_features', e instanceof Error ? e.message : String(e));
  }
  const tfhe = await loadTfhe();
  const clientKey = requireKeys();
  const names = Object.keys(digits);
  const inputs: Record<string, string[]> = {};
  names.forEach((name, i) => {
    progress('encrypt', i / names.length);
    inputs[name] = digits[name]!.map((d) => bytesToBase64(encryptDigit(tfhe, clientKey, d)));
  });
  return { modelVersion: req.modelVersion, party: req.party, encoding: 'shortint-compressed', inputs };
}

async function decrypt(req: Extract<WorkerRequest, { type: 'decrypt' }>): Promise<WorkerResults['decrypt']> {
  const tfhe = await loadTfhe();
  const clientKey = requireKeys();
  const open = (b64: string) => {
    try {
      return decryptCiphertext(tfhe, clientKey, base64ToBytes(b64));
    } catch (e) {
      throw new WorkerFailure('decrypt_failed', `not a ciphertext of this key's parameters: ${String(e)}`);
    }
  };
  return {
    decision: open(req.result.decision),
    explanation: req.result.explanation.ciphertexts.map(open),
    bins: req.result.explanation.bins,
  };
}

async function forget(req: Extract<WorkerRequest, { type: 'forget' }>): Promise<WorkerResults['forget']> {
  keys?.clientKey.free();
  keys = undefined;
  if (req.cacheName !== null) await deleteCachedKeys(req.cacheName);
  return { forgotten: true };
}

async function handle(data: unknown): Promise<void> {
  const parsed = WorkerRequest.safeParse(data);
  if (!parsed.success) {
    // Answer only a request whose id is one the page could be waiting for: any other id (made up
    // by another script of the page) would otherwise reject an unrelated pending request.
    const id = RequestId.safeParse((data as { id?: unknown } | null)?.id);
    if (id.success) post({ type: 'failed', id: id.data, error: { code: 'bad_request', message: parsed.error.message } });
    else warnOnce(DevWarning.UnanswerableWorkerRequest, `dropped a crypto worker request without a valid id: ${parsed.error.message}`);
    return;
  }
  const req = parsed.data;
  const progress = (step: WorkerStep, fraction: number) => post({ type: 'progress', id: req.id, step, fraction });
  try {
    switch (req.type) {
      case 'warm':
        await loadTfhe();
        post({ type: 'done', id: req.id, value: { ready: true } });
        return;
      case 'keygen': {
        const value = await keygen(req, progress);
        // The page only uploads the keys: hand the buffers over instead of copying 30 MB.
        post({ type: 'done', id: req.id, value }, [value.serverKey.buffer, value.publicKey.buffer]);
        return;
      }
      case 'encrypt':
        post({ type: 'done', id: req.id, value: await encrypt(req, progress) });
        return;
      case 'decrypt':
        progress('decrypt', 0);
        post({ type: 'done', id: req.id, value: await decrypt(req) });
        return;
      case 'forget':
        post({ type: 'done', id: req.id, value: await forget(req) });
        return;
    }
  } catch (e) {
    const fallback: WorkerErrorCode =
      req.type === 'warm'
        ? 'wasm_load_failed'
        : req.type === 'keygen'
          ? 'keygen_failed'
          : req.type === 'encrypt'
            ? 'encrypt_failed'
            : req.type === 'decrypt'
              ? 'decrypt_failed'
              : 'cache_failed';
    const error = e instanceof WorkerFailure ? { code: e.code, message: e.message } : { code: fallback, message: String(e) };
    post({ type: 'failed', id: req.id, error });
  }
}

/** Starts answering requests on this worker's global scope: one at a time, in arrival order. */
export function startCryptoWorker(): void {
  let queue = Promise.resolve();
  scope.addEventListener('message', (event: MessageEvent<unknown>) => {
    queue = queue.then(() => handle(event.data));
  });
}
