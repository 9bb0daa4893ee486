/**
 * Loads the engine's WebAssembly kernels (see `kernels-wat.ts`) against a key's shared memory.
 * The module is compiled once per thread; an instance is bound to one memory.
 */
import { KERNELS_WASM_BASE64 } from './kernels-binary.ts';

export interface Kernels {
  keyswitch(kskLo: number, kskHi: number, input: number, acc: number, inDim: number, size: number, baseLog: number, level: number): void;
  fft_fwd(re: number, im: number, m: number, tw: number): void;
  fft_bwd(re: number, im: number, m: number, tw: number, twEnd: number): void;
  rotate_sub_twist(acc: number, a: number, n: number, rot: number, outRe: number, outIm: number, twist: number, digitScale: number, base: number): void;
  mac_rows(d: number, dStride: number, b: number, bStride: number, rows: number, o: number, m: number): void;
  untwist_add(oRe: number, oIm: number, acc: number, m: number, untwist: number): void;
  blind_rotate(
    switched: number,
    n: number,
    k1: number,
    bigN: number,
    acc: number,
    rot: number,
    fd: number,
    fo: number,
    twist: number,
    untwist: number,
    table: number,
    tableEnd: number,
    bsk: number,
    digitScale: number,
    digitBase: number,
  ): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null when this runtime lacks WebAssembly SIMD or shared memory. */
export function kernelsModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
      // Shared memories need SharedArrayBuffer-backed WebAssembly.Memory support as well.
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export function instantiateKernels(memory: WebAssembly.Memory): Kernels {
  const module = kernelsModule();
  if (!module) throw new Error('WebAssembly kernels are unavailable in this runtime');
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
