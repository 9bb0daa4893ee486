/**
 * Messages between the element and its crypto worker. Both sides parse what they receive with
 * these schemas: a worker is a trust boundary like any other (a page script can post to it).
 *
 * The client (secret) key never appears here: it lives only inside the worker and, when the host
 * opts in, in the worker's IndexedDB store. Keys that leave the worker are public: the compressed
 * server key (for the evaluator) and the compact public key (for the bank's and bureau's backends).
 */
import { z } from 'zod';
import { EncryptedResult, MAX_INPUTS_PER_PARTY, ModelVersion, Party, PartyInputs } from '../../../protocol/ciphertexts.ts';
import { EncryptedInput } from '../../../model/quantize.ts';
import { PARAM_SET_NAMES } from './tfhe-client.ts';

export const RequestId = z.number().int().nonnegative();
/** Bytes as structured clone carries them. */
export const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be a Uint8Array');

export const ParamSetName = z.enum(PARAM_SET_NAMES);
export const ServerKeyGeneratorName = z.enum(['engine', 'tfhe']);
export const ServerKeyGeneratorChoice = z.enum(['auto', 'engine', 'tfhe']);
export type ParamSetName = z.infer<typeof ParamSetName>;

export const WorkerRequest = z.discriminatedUnion('type', [
  /** Load tfhe's wasm ahead of the first key generation. */
  z.object({ id: RequestId, type: z.literal('warm') }).strict(),
  z
    .object({
      id: RequestId,
      type: z.literal('keygen'),
      paramSet: ParamSetName,
      /** Where to keep (and look for) the keys; `null` keeps them in memory only. */
      cacheName: z.string().min(1).max(200).nullable(),
      /**
       * Who makes the server key: `engine` (the engine's generator, `fhe/keygen`), `tfhe` (tfhe's
       * own `new_compressed_server_key`), or `auto` / absent: the engine's where WebAssembly SIMD runs.
       */
      serverKeyGenerator: ServerKeyGeneratorChoice.optional(),
    })
    .strict(),
  z
    .object({
      id: RequestId,
      type: z.literal('encrypt'),
      modelVersion: ModelVersion,
      party: Party,
      /** The manifest's encrypted inputs: which to encrypt for this party, and how to quantize. */
      inputs: z
        .array(EncryptedInput)
        .min(1)
        .max(MAX_INPUTS_PER_PARTY * 3),
      /** The party's raw answers; the worker validates them with the feature schema. */
      features: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])),
    })
    .strict(),
  z.object({ id: RequestId, type: z.literal('decrypt'), result: EncryptedResult }).strict(),
  z
    .object({
      id: RequestId,
      type: z.literal('forget'),
      /** Also delete the cached keys stored under this name. */
      cacheName: z.string().min(1).max(200).nullable(),
    })
    .strict(),
]);
export type WorkerRequest = z.infer<typeof WorkerRequest>;
export type WorkerRequestType = WorkerRequest['type'];

/** Steps the worker reports while it works. */
export const WorkerStep = z.enum(['load_wasm', 'cache_read', 'client_key', 'server_key', 'cache_write', 'encrypt', 'decrypt']);
export type WorkerStep = z.infer<typeof WorkerStep>;

export const KeygenResult = z
  .object({
    /** `Shortint.serialize_compressed_server_key` bytes, transferred to the page for upload. */
    serverKey: Bytes,
    /** Lowercase hex SHA-256 of `serverKey` (hashed here, off the page's thread, for the resumable upload). */
    serverKeySha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** `TfheCompactPublicKey.serialize()` bytes of the same secret, uploaded for the parties. */
    publicKey: Bytes,
    paramSet: ParamSetName,
    fromCache: z.boolean(),
    /** Who made the server key; `null` when it came from the cache. */
    serverKeyGenerator: ServerKeyGeneratorName.nullable(),
    /** Why the fresh keys could not be cached (they are still returned), or `null`. */
    cacheWarning: z.string().nullable(),
  })
  .strict();
export type KeygenResult = z.infer<typeof KeygenResult>;

/** The party's upload body, ready for `PUT …/inputs/:party`. */
export const EncryptResult = PartyInputs;
export type EncryptResult = PartyInputs;

export const DecryptResult = z
  .object({
    decision: z.number().int().min(0).max(3),
    /** One decrypted message per explanation bin, in the result's bin order. */
    explanation: z.array(z.number().int().min(0).max(3)),
    bins: z.array(z.string()),
  })
  .strict();
export type DecryptResult = z.infer<typeof DecryptResult>;

export const ForgetResult = z.object({ forgotten: z.literal(true) }).strict();
export const WarmResult = z.object({ ready: z.literal(true) }).strict();

/** The value each request type resolves to. */
export interface WorkerResults {
  warm: z.infer<typeof WarmResult>;
  keygen: KeygenResult;
  encrypt: EncryptResult;
  decrypt: DecryptResult;
  forget: z.infer<typeof ForgetResult>;
}

export const WORKER_RESULT_SCHEMAS = {
  warm: WarmResult,
  keygen: KeygenResult,
  encrypt: EncryptResult,
  decrypt: DecryptResult,
  forget: ForgetResult,
} as const satisfies { [K in WorkerRequestType]: z.ZodType<WorkerResults[K]> };

/** Error codes a worker request can fail with. */
export const WorkerErrorCode = z.enum([
  'bad_request',
  'invalid_features',
  'wasm_load_failed',
  'no_keys',
  'keygen_failed',
  'encrypt_failed',
  'decrypt_failed',
  /** `forget` could not delete the cached keys. */
  'cache_failed',
  'cancelled',
  'worker_crashed',
]);
export type WorkerErrorCode = z.infer<typeof WorkerErrorCode>;

export const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), id: RequestId, step: WorkerStep, fraction: z.number().min(0).max(1) }).strict(),
  z.object({ type: z.literal('done'), id: RequestId, value: z.unknown() }).strict(),
  z
    .object({
      type: z.literal('failed'),
      id: RequestId,
      error: z.object({ code: WorkerErrorCode, message: z.string() }).strict(),
    })
    .strict(),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;
