/**
 * Loads the engine's WebAssembly kernels (see `kernels-wat.ts`) against a key's shared memory.
 * Two variants: `relaxed` (relaxed SIMD: fused multiply-adds in the DFTs and the
 * multiply-accumulate) where the runtime validates it, `plain` SIMD otherwise; `plain` computes
 * exactly what the TypeScript path computes, `relaxed` rounds differently (within the noise the
 * engine's noise audit measures). Each module is compiled once per thread; an instance is bound
 * to one memory.
 */
import { base64ToBytes } from '../../protocol/bytes.ts';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels-binary.ts';

export interface Kernels {
  keyswitch(
    kskLo: number,
    kskHi: number,
    input: number,
    acc: number,
    inDim: number,
    size: number,
    baseLog: number,
    level: number,
    count: number,
    inStride: number,
    accStride: number,
  ): void;
  keyswitch_hi32(
    kskHi: number,
    input: number,
    acc: number,
    inDim: number,
    size: number,
    baseLog: number,
    level: number,
    count: number,
    inStride: number,
    accStride: number,
    acc32: number,
    acc32Stride: number,
  ): void;
  fft_fwd(re: number, im: number, m: number, tw: number): void;
  fft_bwd(re: number, im: number, m: number, tw: number, twEnd: number): void;
  rotate_sub_twist(acc: number, a: number, n: number, out: number, twist: number, digitScale: number, base: number): void;
  mac_rows(d: number, dStride: number, b: number, bStride: number, rows: number, o: number, m: number): void;
  untwist_add(oRe: number, oIm: number, acc: number, m: number, untwist: number): void;
  blind_rotate(
    switched: number,
    n: number,
    k1: number,
    bigN: number,
    acc: number,
    fd: number,
    fo: number,
    twist: number,
    untwist: number,
    table: number,
    tableEnd: number,
    bsk: number,
    digitScale: number,
    digitBase: number,
    count: number,
    switchedStride: number,
    accStride: number,
  ): void;
}

/** `relaxed`: fused multiply-add kernels (relaxed SIMD); `plain`: SIMD without FMA. */
export type KernelVariant = 'relaxed' | 'plain';

const SOURCES: Record<KernelVariant, string> = { relaxed: KERNELS_RELAXED_WASM_BASE64, plain: KERNELS_WASM_BASE64 };
const compiled = new Map<KernelVariant, WebAssembly.Module | null>();
let selected: KernelVariant | undefined;

function compile(variant: KernelVariant): WebAssembly.Module | null {
  if (!compiled.has(variant)) {
    let module: WebAssembly.Module | null = null;
    try {
      module = new WebAssembly.Module(base64ToBytes(SOURCES[variant]));
      // Shared memories need SharedArrayBuffer-backed WebAssembly.Memory support as well.
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      module = null;
    }
    compiled.set(variant, module);
  }
  return compiled.get(variant)!;
}

/** The variant this thread's bootstraps use: `relaxed` when the runtime has relaxed SIMD, else `plain`. */
export function kernelVariant(): KernelVariant {
  return (selected ??= compile('relaxed') ? 'relaxed' : 'plain');
}

/**
 * Chooses this thread's variant (tests, benchmarks, A/B runs); false, and no change, when the
 * runtime cannot compile it.
 */
export function selectKernelVariant(variant: KernelVariant): boolean {
  if (!compile(variant)) return false;
  selected = variant;
  return true;
}

/** The compiled module of the selected variant, or null when this runtime lacks WebAssembly SIMD or shared memory. */
export function kernelsModule(variant: KernelVariant = kernelVariant()): WebAssembly.Module | null {
  return compile(variant);
}

export function instantiateKernels(memory: WebAssembly.Memory, variant: KernelVariant = kernelVariant()): Kernels {
  const module = kernelsModule(variant);
  if (!module) throw new Error(`WebAssembly kernels (${variant}) are unavailable in this runtime`);
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
