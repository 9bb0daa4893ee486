/**
 * The oracle for the crypto-worker suite, under `/oracle`: node-tfhe 1.6.1 (the reference
 * client) with the shared test keys of `tests/support/tfhe-keys.ts`. The browser loads those
 * keys into its worker and checks, both ways, that its ciphertexts and the reference client's
 * are interchangeable. Test-only: it serves a secret key by design.
 */
import { Hono } from 'hono';
import * as tfhe from 'node-tfhe';
import { z } from 'zod';
import { base64ToBytes, bytesToBase64 } from '../../../protocol/ciphertexts.ts';
import { ApiError } from '../../../protocol/errors.ts';
import { loadTestKeys, TEST_PARAM_SETS, type TestParamSet } from '../../support/tfhe-keys.ts';

export const ORACLE_PREFIX = '/oracle';

const ParamSet = z.enum(Object.keys(TEST_PARAM_SETS) as [TestParamSet, ...TestParamSet[]]);
const EncryptBody = z.object({ messages: z.array(z.number().int().min(0).max(3)).max(64) }).strict();
const CiphertextsBody = z.object({ ciphertexts: z.array(z.string().max(32_000)).max(64) }).strict();

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

export function createOracle(): Hono {
  const app = new Hono().basePath(ORACLE_PREFIX);
  app.onError((err, c) => {
    const e = err instanceof ApiError ? err : new ApiError(500, 'internal', String(err));
    return c.json(e.toBody(), e.status);
  });
  const octets = (bytes: Uint8Array) =>
    new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } });

  app.get('/:paramSet/client-key', (c) => octets(loadTestKeys(paramSetOf(c.req.param('paramSet'))).clientKeyBytes));
  app.get('/:paramSet/server-key', (c) =>
    octets(loadTestKeys(paramSetOf(c.req.param('paramSet'))).compressedServerKeyBytes),
  );

  /** Full ciphertexts (`Shortint.encrypt` + `serialize_ciphertext`) of the given messages. */
  app.post('/:paramSet/encrypt', async (c) => {
    const { clientKey } = loadTestKeys(paramSetOf(c.req.param('paramSet')));
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
    const { clientKey } = loadTestKeys(paramSetOf(c.req.param('paramSet')));
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
  return app;
}
