/**
 * The Workers runtime as the gateway sees it. The repository type-checks against the DOM and
 * Node globals, so Workers-only types come from the importable build of
 * `@cloudflare/workers-types`, and the few Workers-only globals (`FixedLengthStream`,
 * `crypto.DigestStream`, `crypto.subtle.timingSafeEqual`) are reached through this module.
 * Streams cross between the two type worlds only here, with `asWorkersStream`/`asWebStream`:
 * at run time they are the same objects.
 */
import type * as W from '@cloudflare/workers-types/latest/index.ts';

export type {
  DurableObjectNamespace,
  DurableObjectState,
  DurableObjectStub,
  R2Bucket,
  R2Object,
  R2ObjectBody,
  ExecutionContext,
} from '@cloudflare/workers-types/latest/index.ts';

interface WorkersGlobals {
  FixedLengthStream: typeof W.FixedLengthStream;
  crypto: { DigestStream: typeof W.DigestStream; subtle: { timingSafeEqual: W.SubtleCrypto['timingSafeEqual'] } };
}

const workers = globalThis as unknown as WorkersGlobals;

/** A `TransformStream` that errors unless exactly `length` bytes pass through it. */
export function fixedLengthStream(length: number): W.FixedLengthStream {
  return new workers.FixedLengthStream(length);
}

/** A writable stream that hashes what is written to it (`.digest` resolves on close). */
export function digestStream(algorithm: 'SHA-256'): W.DigestStream {
  return new workers.crypto.DigestStream(algorithm);
}

/** Compares two equal-length byte strings in constant time (false when lengths differ). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return workers.crypto.subtle.timingSafeEqual(a, b);
}

/** Views a web `ReadableStream` with the Workers types (same object at run time). */
export function asWorkersStream(stream: ReadableStream<Uint8Array>): W.ReadableStream<Uint8Array> {
  return stream as unknown as W.ReadableStream<Uint8Array>;
}

/** Views a Workers `ReadableStream` with the web types (same object at run time). */
export function asWebStream(stream: W.ReadableStream): ReadableStream<Uint8Array> {
  return stream as unknown as ReadableStream<Uint8Array>;
}

/** Views a Workers `WritableStream` with the web types (same object at run time). */
export function asWebWritable(stream: W.WritableStream<ArrayBuffer | ArrayBufferView>): WritableStream<Uint8Array> {
  return stream as unknown as WritableStream<Uint8Array>;
}
