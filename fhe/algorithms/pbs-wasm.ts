/**
 * KS-PBS with the WebAssembly SIMD kernels, the fast path of `programmableBootstrap`: the same
 * steps and data as `pbs.ts` + `blind-rotate-f64.ts` (which remain the reference), with the
 * keyswitch, DFTs, decomposition, multiply-accumulate and accumulator update in wasm and the
 * orchestration here.
 *
 * The kernels address the key's shared `WebAssembly.Memory`. Each thread claims one of the key's
 * scratch slots the first time it bootstraps with that key: the slot's flag holds threadId + 1
 * (set by Atomics compare-exchange), so a thread that receives the same key again re-uses its own
 * slot. Per-thread state is kept in a WeakMap on the memory object, so dropping a key frees it.
 * When no slot is free the caller falls back to the TypeScript path: correctness never depends on
 * slot supply.
 *
 * Batches: a slot holds the per-ciphertext state (keyswitch input and output, switched values,
 * accumulator) of up to {@link WASM_MAX_BATCH} ciphertexts, and `programmableBootstrapBatchWasm`
 * keyswitches and blind-rotates them together: the kernels loop over the key (KSK rows, GGSWs)
 * outside and over the ciphertexts inside, so each key block is fetched from memory once per
 * batch instead of once per ciphertext. Every ciphertext sees the operations it would see alone,
 * in the same order: batch and single results are the same bits.
 */
import { threadId } from 'node:worker_threads';
import type { ServerKey } from '../entities/server-key.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension } from '../params/parameters.ts';
import { radix4Plan } from '../fft/radix4.ts';
import { instantiateKernels, kernelsModule, kernelVariant, type Kernels, type KernelVariant } from '../wasm/kernels.ts';
import { initAccumulator, sampleExtractF64 } from './blind-rotate-f64.ts';
import { modulusSwitchForBlindRotation } from './modulus-switch.ts';

/**
 * Ciphertexts one wasm pass bootstraps together. 8 accumulators (256 kB for N = 2048) plus one
 * GGSW (64 kB) stay in a core's L2 cache; larger batches run in chunks of 8.
 */
export const WASM_MAX_BATCH = 8;

/**
 * Byte offsets (relative to the slot start) of one thread's scratch for these parameters. The
 * per-ciphertext areas (acc, ksInput, ksOutput, switched) hold {@link WASM_MAX_BATCH} entries,
 * `*Stride` bytes apart; a single bootstrap uses entry 0.
 */
export interface WasmScratchLayout {
  readonly size: number;
  readonly twist: number;
  readonly untwist: number;
  readonly fftTable: number;
  readonly fftTableEnd: number;
  readonly fourierDigits: number;
  readonly fourierOut: number;
  readonly acc: number;
  readonly accStride: number;
  readonly ksInput: number;
  readonly ksInputStride: number;
  readonly ksOutput: number;
  readonly ksOutputStride: number;
  /** `keyswitch_hi32`'s i32 sums and digit sum per batch entry. */
  readonly ksSums: number;
  readonly ksSumsStride: number;
  readonly switched: number;
  readonly switchedStride: number;
}

/**
 * The wasm path covers level-1 bootstrap decompositions with β ≤ 50 (both supported sets have
 * β = 23; the kernels' add-and-subtract rounding is exact for digits below 2^51); others use
 * TypeScript.
 */
export function wasmPbsSupported(params: ShortintParameters): boolean {
  return params.pbsLevel === 1 && params.pbsBaseLog <= 50 && params.polynomialSize >= 16 && kernelsModule() !== null;
}

/**
 * Predicted variance of the error `keyswitch_hi32` adds (per output word, hence on the phase),
 * as a share of the modulus switch's rounding variance (also per word), from the public
 * parameters only. Replacing each KSK word's low half by 2^31 adds Σ d·(K_lo − 2^31) per word,
 * K_lo uniform on [0, 2^32) (variance 2^64/12), over k·N·L digits of variance (B² + 2)/12
 * (balanced base-B digits of a uniform word, B = 2^β); the modulus switch to 2N rounds each
 * word by a uniform step of 2^64/2N (variance (2^64/2N)²/12). The ratio is
 * k·N·L·(B² + 2)·N² / (3·2^64): 2^−22.6 for the TUniform 2_2 set (β×L = 4×4), 2^−24.2 for the
 * Gaussian one (3×5), but ≈ 2^−0.6 for a 16×1 keyswitch, where the high halves would double the
 * noise before the blind rotation.
 */
export function keyswitchHi32VarianceRatio(p: ShortintParameters): number {
  const B = 2 ** p.ksBaseLog;
  return (bigLweDimension(p) * p.ksLevel * (B * B + 2) * p.polynomialSize ** 2) / (3 * 2 ** 64);
}

/**
 * The largest {@link keyswitchHi32VarianceRatio} for which the relaxed kernels keyswitch on the
 * high halves. A Gaussian failure tail 2^−x moves by about x·ratio bits, so 2^−16 costs under
 * 0.01 bit at p_fail = 2^−128 and leaves both 2_2 sets 6–8 bits of room; any other
 * decomposition the engine accepts keyswitches exactly.
 */
export const KEYSWITCH_HI32_MAX_VARIANCE_RATIO = 2 ** -16;

/** Whether the `relaxed` kernels may keyswitch these parameters on the KSK's high halves. */
export function keyswitchHi32Supported(p: ShortintParameters): boolean {
  return keyswitchHi32VarianceRatio(p) <= KEYSWITCH_HI32_MAX_VARIANCE_RATIO;
}

function fftTableDoubles(m: number): number {
  let total = 0;
  let len = m;
  if (Math.log2(m) % 2 === 1) {
    total += m;
    len = m / 2;
  }
  for (; len >= 8; len /= 4) total += (6 * len) / 4;
  return total;
}

export function wasmScratchLayout(params: ShortintParameters): WasmScratchLayout {
  const { polynomialSize: N, glweDimension: k, lweDimension: n } = params;
  const M = N / 2;
  let at = 0;
  const line = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const take = (bytes: number) => {
    const start = at;
    at += line(bytes);
    return start;
  };
  const twist = take(16 * M);
  const untwist = take(16 * M);
  const fftTable = take(8 * fftTableDoubles(M));
  const fftTableEnd = fftTable + 8 * fftTableDoubles(M);
  const fourierDigits = take(8 * (k + 1) * N);
  const fourierOut = take(8 * (k + 1) * N);
  const accStride = line(8 * (k + 1) * N);
  const acc = take(WASM_MAX_BATCH * accStride);
  const ksInputStride = line(8 * (bigLweDimension(params) + 1));
  const ksInput = take(WASM_MAX_BATCH * ksInputStride);
  const ksOutputStride = line(8 * (n + 1));
  const ksOutput = take(WASM_MAX_BATCH * ksOutputStride);
  // n+1 i32 sums padded to 16 bytes, then the i64 digit sum.
  const ksSumsStride = line(16 * Math.ceil((n + 1) / 4) + 8);
  const ksSums = take(WASM_MAX_BATCH * ksSumsStride);
  const switchedStride = line(4 * (n + 1));
  const switched = take(WASM_MAX_BATCH * switchedStride);
  return {
    size: Math.ceil(at / 65536) * 65536,
    twist,
    untwist,
    fftTable,
    fftTableEnd,
    fourierDigits,
    fourierOut,
    acc,
    accStride,
    ksInput,
    ksInputStride,
    ksOutput,
    ksOutputStride,
    ksSums,
    ksSumsStride,
    switched,
    switchedStride,
  };
}

/** Writes the DFT tables of `radix4.ts` in the kernels' layout (per stage: w1r, w1i, w2r, w2i, w3r, w3i). */
export function writeTables(view: Float64Array, base: number, layout: WasmScratchLayout, N: number): void {
  const plan = radix4Plan(N);
  const M = N / 2;
  const t0 = (base + layout.twist) / 8;
  view.set(plan.twistRe, t0);
  view.set(plan.twistIm, t0 + M);
  const u0 = (base + layout.untwist) / 8;
  view.set(plan.untwistRe, u0);
  view.set(plan.untwistIm, u0 + M);
  let p = (base + layout.fftTable) / 8;
  plan.stages.forEach((len, s) => {
    const t = plan.twiddles[s]!;
    if (s === 0 && Math.log2(M) % 2 === 1) {
      const h = len / 2;
      for (let j = 0; j < h; j++) {
        view[p + j] = t[2 * j]!;
        view[p + h + j] = t[2 * j + 1]!;
      }
      p += len;
    } else if (len >= 8) {
      const q = len / 4;
      for (let j = 0; j < q; j++) {
        for (let e = 0; e < 3; e++) {
          view[p + 2 * e * q + j] = t[6 * j + 2 * e]!;
          view[p + (2 * e + 1) * q + j] = t[6 * j + 2 * e + 1]!;
        }
      }
      p += 6 * q;
    }
  });
}

interface ThreadKeyState {
  readonly memory: WebAssembly.Memory;
  /** One instance per kernel variant used with this key in this thread. */
  readonly instances: Map<KernelVariant, Kernels>;
  readonly base: number;
  /** Per batch entry (index 0 = single bootstraps). */
  readonly acc: readonly Float64Array[];
  readonly ksInput: readonly Uint32Array[];
  readonly small: readonly Uint32Array[];
  readonly switched: readonly Uint32Array[];
  readonly layout: WasmScratchLayout;
}

function kernelsOf(s: ThreadKeyState): Kernels {
  const variant = kernelVariant();
  let k = s.instances.get(variant);
  if (k === undefined) {
    k = instantiateKernels(s.memory, variant);
    s.instances.set(variant, k);
  }
  return k;
}

/** This thread's state per key memory (weak: a dropped key is collected with its state). */
const states = new WeakMap<WebAssembly.Memory, ThreadKeyState>();
/** Tag written in a claimed slot's flag; never 0 (free). */
const SLOT_TAG = threadId + 1;

/** A slot this thread already holds, else a free one claimed now, else −1. */
function claimSlot(flags: Int32Array): number {
  for (let s = 0; s < flags.length; s++) if (Atomics.load(flags, s) === SLOT_TAG) return s;
  for (let s = 0; s < flags.length; s++) if (Atomics.compareExchange(flags, s, 0, SLOT_TAG) === 0) return s;
  return -1;
}

function stateFor(key: ServerKey): ThreadKeyState | null {
  if (!key.memory) return null;
  const hit = states.get(key.memory);
  if (hit) return hit;
  const slots = key.scratchSlots;
  if (!slots || !wasmPbsSupported(key.params)) return null;
  const layout = wasmScratchLayout(key.params);
  const buffer = key.memory.buffer;
  // A key object from elsewhere (postMessage) must describe slots inside its own memory.
  const fits =
    Number.isSafeInteger(slots.count) &&
    slots.count > 0 &&
    slots.flags >= 0 &&
    slots.flags % 4 === 0 &&
    slots.flags + 4 * slots.count <= slots.offset &&
    layout.size <= slots.size &&
    slots.offset + slots.count * slots.size <= buffer.byteLength;
  if (!fits) return null;
  const slot = claimSlot(new Int32Array(buffer, slots.flags, slots.count));
  if (slot < 0) return null;
  const base = slots.offset + slot * slots.size;
  const { polynomialSize: N, glweDimension: k, lweDimension: n } = key.params;
  writeTables(new Float64Array(buffer), base, layout, N);
  const entries = <T>(make: (c: number) => T) => Array.from({ length: WASM_MAX_BATCH }, (_, c) => make(c));
  const state: ThreadKeyState = {
    memory: key.memory,
    instances: new Map(),
    base,
    acc: entries((c) => new Float64Array(buffer, base + layout.acc + c * layout.accStride, (k + 1) * N)),
    ksInput: entries(
      (c) => new Uint32Array(buffer, base + layout.ksInput + c * layout.ksInputStride, 2 * (bigLweDimension(key.params) + 1)),
    ),
    small: entries((c) => new Uint32Array(buffer, base + layout.ksOutput + c * layout.ksOutputStride, 2 * (n + 1))),
    switched: entries((c) => new Uint32Array(buffer, base + layout.switched + c * layout.switchedStride, n + 1)),
    layout,
  };
  states.set(key.memory, state);
  return state;
}

/**
 * Keyswitches `count` inputs already copied to the thread's ksInput entries into its ksOutput
 * entries: on the `relaxed` kernels with the KSK's high halves (`keyswitch_hi32`: half the key
 * read, i32 lanes; its extra error is measured by the noise audit) where
 * {@link keyswitchHi32Supported}, otherwise (and always on `plain`) exactly.
 */
function keyswitchEntries(key: ServerKey, s: ThreadKeyState, count: number): void {
  const p = key.params;
  const L = s.layout;
  const kernels = kernelsOf(s);
  if (kernelVariant() === 'relaxed' && keyswitchHi32Supported(p)) {
    kernels.keyswitch_hi32(
      key.keyswitchKeyHi.byteOffset,
      s.base + L.ksInput,
      s.base + L.ksOutput,
      bigLweDimension(p),
      p.lweDimension + 1,
      p.ksBaseLog,
      p.ksLevel,
      count,
      L.ksInputStride,
      L.ksOutputStride,
      s.base + L.ksSums,
      L.ksSumsStride,
    );
    return;
  }
  kernels.keyswitch(
    key.keyswitchKeyLo.byteOffset,
    key.keyswitchKeyHi.byteOffset,
    s.base + L.ksInput,
    s.base + L.ksOutput,
    bigLweDimension(p),
    p.lweDimension + 1,
    p.ksBaseLog,
    p.ksLevel,
    count,
    L.ksInputStride,
    L.ksOutputStride,
  );
}

/**
 * Blind-rotates the accumulators of batch entries 0..count−1, whose switched values and
 * initial accumulators are in place.
 */
function blindRotateEntries(key: ServerKey, s: ThreadKeyState, count: number): void {
  callBlindRotate(kernelsOf(s), s.base, s.layout, key.params, key.fourierBootstrapKey.byteOffset, count);
}

/**
 * The `blind_rotate` kernel call on scratch laid out by {@link wasmScratchLayout} at byte `base`
 * and the Fourier bootstrap key at byte `bsk` of the kernels' memory. The loop over the mask (and
 * over the batch) runs inside wasm.
 */
export function callBlindRotate(
  kernels: Kernels,
  base: number,
  L: WasmScratchLayout,
  params: ShortintParameters,
  bsk: number,
  count: number,
): void {
  const { polynomialSize: N, glweDimension: k, lweDimension: n, pbsBaseLog: beta } = params;
  kernels.blind_rotate(
    base + L.switched,
    n,
    k + 1,
    N,
    base + L.acc,
    base + L.fourierDigits,
    base + L.fourierOut,
    base + L.twist,
    base + L.untwist,
    base + L.fftTable,
    base + L.fftTableEnd,
    bsk,
    2 ** -(64 - beta),
    2 ** beta,
    count,
    L.switchedStride,
    L.accStride,
  );
}

/** Modulus switch of `small` into entry c's switched values, accumulator set to X^−b̃·lut. */
function prepareEntry(key: ServerKey, s: ThreadKeyState, c: number, small: Uint32Array, lutBody: Uint32Array): void {
  const params = key.params;
  modulusSwitchForBlindRotation(params, key.modulusSwitchZeros, small, s.switched[c]!);
  initAccumulator(params, lutBody, s.switched[c]![params.lweDimension]!, s.acc[c]!);
}

/** Keyswitch with the wasm kernel into the thread's scratch; null when the wasm path is unavailable. */
export function keyswitchWasm(key: ServerKey, input: Uint32Array): Uint32Array | null {
  const s = stateFor(key);
  if (!s) return null;
  s.ksInput[0]!.set(input);
  keyswitchEntries(key, s, 1);
  return s.small[0]!;
}

/**
 * KS-PBS: bootstraps `input` (big key) through `lutBody` into `output` with the wasm kernels.
 * Returns false (and does nothing) when the wasm path is unavailable for this key in this thread.
 */
export function programmableBootstrapWasm(key: ServerKey, input: Uint32Array, lutBody: Uint32Array, output: Uint32Array): boolean {
  const small = keyswitchWasm(key, input);
  return small !== null && bootstrapSmallWasm(key, small, lutBody, output);
}

/**
 * KS-PBS of several independent ciphertexts: `inputs[c]` through `lutBodies[c]` into
 * `outputs[c]`, in chunks of {@link WASM_MAX_BATCH} that share each pass over the keyswitch key
 * and the Fourier bootstrap key. Same bits as `programmableBootstrapWasm` on each. False (and
 * nothing done) when the wasm path is unavailable.
 */
export function programmableBootstrapBatchWasm(
  key: ServerKey,
  inputs: readonly Uint32Array[],
  lutBodies: readonly Uint32Array[],
  outputs: readonly Uint32Array[],
): boolean {
  const s = stateFor(key);
  if (!s) return false;
  for (let start = 0; start < inputs.length; start += WASM_MAX_BATCH) {
    const count = Math.min(WASM_MAX_BATCH, inputs.length - start);
    for (let c = 0; c < count; c++) s.ksInput[c]!.set(inputs[start + c]!);
    keyswitchEntries(key, s, count);
    for (let c = 0; c < count; c++) prepareEntry(key, s, c, s.small[c]!, lutBodies[start + c]!);
    blindRotateEntries(key, s, count);
    for (let c = 0; c < count; c++) sampleExtractF64(key.params, s.acc[c]!, outputs[start + c]!);
  }
  return true;
}

/**
 * The PBS alone (modulus switch, blind rotation, sample extraction) of `small` (n+1 words under
 * the small key, possibly the thread's keyswitch scratch) into `output`; false when the wasm path
 * is unavailable.
 */
export function bootstrapSmallWasm(key: ServerKey, small: Uint32Array, lutBody: Uint32Array, output: Uint32Array): boolean {
  const s = stateFor(key);
  if (!s) return false;
  prepareEntry(key, s, 0, small, lutBody);
  blindRotateEntries(key, s, 1);
  sampleExtractF64(key.params, s.acc[0]!, output);
  return true;
}

/**
 * This thread's accumulator of `key` after its last single bootstrap ((k+1)·N centred doubles,
 * masks first): for the noise audit, which decrypts it. Null when the wasm path is unavailable.
 */
export function wasmAccumulator(key: ServerKey): Float64Array | null {
  return stateFor(key)?.acc[0] ?? null;
}
