/**
 * The Workers runtime as the gateway sees it. The gateway type-checks in workerd's own type world
 * (`gateway/tsconfig.json`: `@cloudflare/workers-types`, no DOM, no Node), so its globals are
 * used directly; this module names the few Workers-only facilities the gateway relies on
 * (`FixedLengthStream`, `crypto.DigestStream`, `crypto.subtle.timingSafeEqual`) in one place.
 */

type WorkersDurableObjectNamespace<T extends Rpc.DurableObjectBranded | undefined = undefined> = DurableObjectNamespace<T>;
type WorkersDurableObjectState = DurableObjectState;
type WorkersDurableObjectStub = DurableObjectStub;
type WorkersR2Bucket = R2Bucket;
type WorkersR2Object = R2Object;
type WorkersR2ObjectBody = R2ObjectBody;
type WorkersExecutionContext = ExecutionContext;
export type {
  WorkersDurableObjectNamespace as DurableObjectNamespace,
  WorkersDurableObjectState as DurableObjectState,
  WorkersDurableObjectStub as DurableObjectStub,
  WorkersR2Bucket as R2Bucket,
  WorkersR2Object as R2Object,
  WorkersR2ObjectBody as R2ObjectBody,
  WorkersExecutionContext as ExecutionContext,
};

/** A `TransformStream` that errors unless exactly `length` bytes pass through it. */
export function fixedLengthStream(length: number): FixedLengthStream {
  return new FixedLengthStream(length);
}

/** A writable stream that hashes what is written to it (`.digest` resolves on close). */
export function digestStream(algorithm: 'SHA-256'): DigestStream {
  return new crypto.DigestStream(algorithm);
}

/** Compares two equal-length byte strings in constant time (false when lengths differ). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/** A byte stream as the Workers types name it (streams of the R2 and Fetch APIs are one kind). */
export function asWebStream(stream: ReadableStream): ReadableStream<Uint8Array> {
  return stream as ReadableStream<Uint8Array>;
}

/** A byte sink as the Workers types name it. */
export function asWebWritable(stream: WritableStream<ArrayBuffer | ArrayBufferView>): WritableStream<Uint8Array> {
  return stream as WritableStream<Uint8Array>;
}
