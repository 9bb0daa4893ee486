/**
 * The single-file build's wasm: tfhe's wasm, gzip-compressed and base64-encoded at build time
 * (`virtual:tfhe-wasm-gzip-base64`, see `widget/vite.config.ts`), inflated with the browser's
 * own `DecompressionStream` when the worker first needs it.
 */
import wasmGzipBase64 from 'virtual:tfhe-wasm-gzip-base64';

export async function tfheWasmSource(): Promise<ArrayBuffer> {
  const gz = Uint8Array.from(atob(wasmGzipBase64), (c) => c.charCodeAt(0));
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}
