/**
 * Request bodies, read as streams: bytes are counted while they arrive and the read stops with
 * 413 as soon as the route's cap is passed, so an oversized body is never buffered. Every body is
 * hashed on the way and must match the SHA-256 the request signature covers.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { ApiError } from '../../../protocol/errors.ts';
import type { AppEnv } from '../env.ts';
import { EvaluatorApiError } from '../../../protocol/evaluator-api.ts';

export interface ReadBodyOptions {
  /** Largest accepted body, in bytes. */
  limit: number;
  /**
   * Sees the bytes received so far after each chunk (`bytes` is valid up to `length`); throws to
   * refuse the body early. Used by the server-key upload to check the key's frame as it streams.
   */
  inspect?: (bytes: Uint8Array, length: number) => void;
  /**
   * Read into `SharedArrayBuffer` memory, so worker threads can be handed the bytes without a
   * copy (the 30 MB server key goes to the expansion worker).
   */
  shared?: boolean;
}

function tooLarge(limit: number): ApiError {
  return new EvaluatorApiError(413, 'body_too_large', `request body exceeds ${limit} bytes`, { details: { limit } });
}

/** Reads the whole body into one buffer sized up front from Content-Length (or grown by doubling). */
export async function readBody(c: Context<AppEnv>, { limit, inspect, shared = false }: ReadBodyOptions): Promise<Uint8Array> {
  const allocate = (n: number) => new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  const declared = c.req.header('content-length');
  let capacity = 16 * 1024;
  if (declared !== undefined) {
    const n = Number(declared);
    if (!/^[0-9]+$/.test(declared) || !Number.isSafeInteger(n)) {
      throw new EvaluatorApiError(400, 'invalid_request', 'Content-Length is not a number');
    }
    if (n > limit) throw tooLarge(limit);
    capacity = n;
  }
  let buf = allocate(Math.min(capacity, limit));
  let length = 0;
  const hash = createHash('sha256');
  const body = c.req.raw.body;
  if (body !== null) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (length + value.length > limit) throw tooLarge(limit);
        if (length + value.length > buf.length) {
          const grown = allocate(Math.min(limit, Math.max(buf.length * 2, length + value.length)));
          grown.set(buf.subarray(0, length));
          buf = grown;
        }
        buf.set(value, length);
        length += value.length;
        hash.update(value);
        inspect?.(buf, length);
      }
    } catch (e) {
      // Stop the upload: nothing more is read from the socket for this request.
      await reader.cancel().catch(() => {});
      throw e;
    }
  }
  if (declared !== undefined && length !== Number(declared)) {
    throw new EvaluatorApiError(400, 'invalid_request', 'body is shorter than its Content-Length');
  }
  if (hash.digest('hex') !== c.get('contentSha256')) {
    throw new EvaluatorApiError(400, 'body_hash_mismatch', 'body does not match x-blindscore-content-sha256');
  }
  return length === buf.length ? buf : buf.subarray(0, length);
}

/** Reads a JSON body (Content-Type `application/json`) and validates it with `schema`. */
export async function readJson<T extends z.ZodType>(c: Context<AppEnv>, schema: T, limit: number): Promise<z.infer<T>> {
  const type = c.req.header('content-type') ?? '';
  const bytes = await readBody(c, { limit });
  // An empty body stands for `{}` so that bodiless POSTs (e.g. run) need no content type.
  if (bytes.length === 0) return parseWith(schema, {});
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new EvaluatorApiError(415, 'unsupported_media_type', 'body must be application/json');
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new EvaluatorApiError(400, 'invalid_json', 'body is not valid UTF-8 JSON');
  }
  return parseWith(schema, value);
}

/** Validates a value, turning zod issues into a 400 `invalid_request` that names the fields. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  throw new EvaluatorApiError(
    400,
    'invalid_request',
    `invalid request: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    {
      details: { issues },
    },
  );
}
