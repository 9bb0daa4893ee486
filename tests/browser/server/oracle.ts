/**
 * The oracle for the browser suites, under `/oracle`: node-tfhe 1.6.1 (the reference client)
 * with the shared public-key test keys of `tests/support/tfhe-keys.ts` (a high-level client key,
 * its compact public key, the shortint key cut out of it and that key's compressed server key),
 * the party SDK's encryption and the evaluator's engine. The browser loads those keys into its
 * worker and checks, both ways, that its ciphertexts and the reference client's are
 * interchangeable; and the worker's own public key goes through the party SDK and the engine.
 * Test-only: it serves secret keys by design.
 */
import { Hono, type Context } from 'hono';
import * as tfhe from 'node-tfhe';
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { base64ToBytes, bytesToBase64, Party } from '../../../protocol/ciphertexts.ts';
import { ApiError } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../model/manifest.ts';
import { checkCompactPublicKey, isCompactPublicKeyError } from '../../../protocol/compact-public-key.ts';
import { checkPublicKey, encryptPartyInputs } from '../../../party/encrypt.ts';
import { PartyError } from '../../../party/errors.ts';
import * as engine from '../../../fhe/index.ts';
import { loadPublicKeyTestKeys, shortintKeyTemplate, TEST_PARAM_SETS, type TestParamSet } from '../../support/tfhe-keys.ts';

export const ORACLE_PREFIX = '/oracle';

const ParamSet = z.enum(Object.keys(TEST_PARAM_SETS) as [TestParamSet, ...TestParamSet[]]);
const EncryptBody = z.object({ messages: z.array(z.number().int().min(0).max(3)).max(64) }).strict();
const CiphertextsBody = z.object({ ciphertexts: z.array(z.string().max(32_000)).max(64) }).strict();
const PartyListBody = z
  .object({
    /** An id from `POST /engine/server-key`. */
    serverKey: z.string().regex(/^[0-9a-f]{64}$/),
    /** `TfheCompactPublicKey.serialize()` bytes, base64. */
    publicKey: z.string().max(64_000),
    party: Party,
    features: z.record(z.string(), z.unknown()),
  })
  .strict();

/** Engine-expanded server keys by the SHA-256 of their bytes; a suite needs one or two. */
const serverKeys = new Map<string, engine.ServerKey>();
const MAX_SERVER_KEYS = 2;

/** The full ciphertext of a compressed one, as the evaluator would return it. */
export function decompressCiphertext(b64: string): string {
  const compressed = tfhe.Shortint.deserialize_compressed_ciphertext(base64ToBytes(b64));
  const full = tfhe.Shortint.decompress_ciphertext(compressed);
  try {
    return bytesToBase64(tfhe.Shortint.serialize_ciphertext(full));
  } finally {
    full.free();
    compressed.free();
  }
}

function paramSetOf(value: string | undefined): TestParamSet {
  const parsed = ParamSet.safeParse(value);
  if (!parsed.success) throw new ApiError(404, 'not_found', `unknown parameter set ${String(value)}`);
  return parsed.data;
}

async function bodyOf<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await req.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError(400, 'invalid_request', parsed.error.message);
  return parsed.data;
}

export function createOracle(manifest: Manifest): Hono {
  const app = new Hono().basePath(ORACLE_PREFIX);
  app.onError((err, c) => {
    const e = err instanceof ApiError ? err : new ApiError(500, 'internal', String(err));
    return c.json(e.toBody(), e.status);
  });
  const octets = (bytes: Uint8Array) =>
    new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } });

  const keysOf = (c: { req: { param(name: string): string | undefined } }) => loadPublicKeyTestKeys(paramSetOf(c.req.param('paramSet')));
  /** `TfheClientKey.serialize()` bytes. */
  app.get('/:paramSet/high-level-key', (c) => octets(keysOf(c).hlClientKeyBytes));
  /** `TfheCompactPublicKey.serialize()` bytes of that key. */
  app.get('/:paramSet/public-key', (c) => octets(keysOf(c).compactPublicKeyBytes));
  /** The shortint client key the engine's `deriveShortintClientKey` cut out of it. */
  app.get('/:paramSet/client-key', (c) => octets(keysOf(c).clientKeyBytes));
  /** Its compressed server key. */
  app.get('/:paramSet/server-key', (c) => octets(keysOf(c).compressedServerKeyBytes));
  /** `Shortint.serialize_client_key` bytes of node-tfhe's fixed-seed key of the set. */
  app.get('/:paramSet/shortint-template', (c) => octets(shortintKeyTemplate(paramSetOf(c.req.param('paramSet')))));

  /** Full ciphertexts (`Shortint.encrypt` + `serialize_ciphertext`) of the given messages. */
  app.post('/:paramSet/encrypt', async (c) => {
    const { clientKey } = keysOf(c);
    const { messages } = await bodyOf(c.req.raw, EncryptBody);
    const ciphertexts = messages.map((m) => {
      const ct = tfhe.Shortint.encrypt(clientKey, BigInt(m));
      try {
        return bytesToBase64(tfhe.Shortint.serialize_ciphertext(ct));
      } finally {
        ct.free();
      }
    });
    return c.json({ ciphertexts });
  });

  /** Decrypts compressed ciphertexts made in the browser with the same test key. */
  app.post('/:paramSet/decrypt-compressed', async (c) => {
    const { clientKey } = keysOf(c);
    const { ciphertexts } = await bodyOf(c.req.raw, CiphertextsBody);
    const messages = ciphertexts.map((b64) => {
      const compressed = tfhe.Shortint.deserialize_compressed_ciphertext(base64ToBytes(b64));
      const ct = tfhe.Shortint.decompress_ciphertext(compressed);
      try {
        return Number(tfhe.Shortint.decrypt(clientKey, ct));
      } finally {
        ct.free();
        compressed.free();
      }
    });
    return c.json({ messages });
  });

  /** Full ciphertexts of compressed ones (decompression regenerates the mask: no key needed). */
  app.post('/decompress', async (c) => {
    const { ciphertexts } = await bodyOf(c.req.raw, CiphertextsBody);
    return c.json({ ciphertexts: ciphertexts.map(decompressCiphertext) });
  });

  /** Whether node-tfhe reads bytes as a compressed server key. */
  app.post('/server-key-check', async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    try {
      tfhe.Shortint.deserialize_compressed_server_key(bytes).free();
      return c.json({ ok: true, bytes: bytes.byteLength });
    } catch (e) {
      return c.json({ ok: false, bytes: bytes.byteLength, error: String(e) });
    }
  });
  /**
   * Whether bytes are a compact public key that node-tfhe reads and that `check` accepts; a
   * refusal answers with the checker's code.
   */
  const publicKeyCheck = (check: (bytes: Uint8Array, paramSet: TestParamSet) => unknown) => async (c: Context) => {
    const named = c.req.param('paramSet');
    const paramSet = named === undefined ? manifest.parameterSet.id : paramSetOf(named);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    try {
      const info = check(bytes, paramSet);
      tfhe.TfheCompactPublicKey.deserialize(bytes).free();
      return c.json({ ok: true, bytes: bytes.byteLength, info });
    } catch (e) {
      const code = e instanceof PartyError || isCompactPublicKeyError(e) ? e.code : String(e);
      return c.json({ ok: false, bytes: bytes.byteLength, error: code });
    }
  };
  /** Against the manifest's set, as the bank's and the bureau's backends check it (the party SDK). */
  app.post(
    '/public-key-check',
    publicKeyCheck((bytes) => checkPublicKey(manifest, bytes)),
  );
  /** Against a named set (`protocol/compact-public-key.ts`). */
  app.post('/public-key-check/:paramSet', publicKeyCheck(checkCompactPublicKey));

  /** Parses and expands a compressed server key with the engine, for `/party-list`. */
  app.post('/engine/server-key', async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const id = createHash('sha256').update(bytes).digest('hex');
    if (!serverKeys.has(id)) {
      if (serverKeys.size >= MAX_SERVER_KEYS) serverKeys.delete(serverKeys.keys().next().value!);
      serverKeys.set(id, engine.loadServerKey(bytes));
    }
    return c.json({ id });
  });

  /**
   * A party's values encrypted by the party SDK (node-tfhe) under the given public key, then
   * parsed, expanded and bootstrapped through the set's sanitizing table by the engine, as the
   * evaluator does: full ciphertexts per input, least significant block first.
   */
  app.post('/party-list', async (c) => {
    const body = await bodyOf(c.req.raw, PartyListBody);
    const key = serverKeys.get(body.serverKey);
    if (!key) throw new ApiError(404, 'not_found', 'upload the server key to /engine/server-key first');
    const upload = encryptPartyInputs({ manifest, party: body.party, features: body.features, publicKey: base64ToBytes(body.publicKey) });
    const list = engine.deserializeCompactCiphertextList(base64ToBytes(upload.list), key.params);
    const ciphertexts = engine.expandCompactCiphertextList(list, key.params).map((blocks, i) => {
      const table = engine.createSanitizeLookupTable(key.params, list.kinds[i]!);
      return blocks.map((block) => bytesToBase64(engine.serializeCiphertext(engine.programmableBootstrap(key, block, table))));
    });
    return c.json({ inputs: upload.inputs, listBytes: base64ToBytes(upload.list).byteLength, ciphertexts });
  });
  return app;
}
