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
 */
import { threadId } from 'node:worker_threads';
import type { ServerKey } from '../entities/server-key.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension } from '../params/parameters.ts';
import { radix4Plan } from '../fft/radix4.ts';
import { instantiateKernels, kernelsModule, type Kernels } from '../wasm/kernels.ts';
import { initAccumulator, sampleExtractF64 } from './blind-rotate-f64.ts';
import { modulusSwitchForBlindRotation } from './modulus-switch.ts';

/** Byte offsets (relative to the slot start) of one thread's scratch for these parameters. */
export interface WasmScratchLayout {
  readonly size: number;
  readonly twist: number;
  readonly untwist: number;
  readonly fftTable: number;
  readonly fftTableEnd: number;
  readonly acc: number;
  readonly rot: number;
  readonly fourierDigits: number;
  readonly fourierOut: number;
  readonly ksInput: number;
  readonly ksOutput: number;
  readonly switched: number;
}

/**
 * The wasm path covers level-1 bootstrap decompositions with β ≤ 50 (both supported sets have
 * β = 23; the kernels' add-and-subtract rounding is exact for digits below 2^51); others use
 * TypeScript.
 */
export function wasmPbsSupported(params: ShortintParameters): boolean {
  return params.pbsLevel === 1 && params.pbsBaseLog <= 50 && params.polynomialSize >= 16 && kernelsModule() !== null;
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
  const take = (bytes: number) => {
    const start = at;
    at += Math.ceil(bytes / 64) * 64;
    return start;
  };
  const twist = take(16 * M);
  const untwist = take(16 * M);
  const fftTable = take(8 * fftTableDoubles(M));
  const fftTableEnd = fftTable + 8 * fftTableDoubles(M);
  const acc = take(8 * (k + 1) * N);
  const rot = take(8 * N);
  const fourierDigits = take(8 * (k + 1) * N);
  const fourierOut = take(8 * (k + 1) * N);
  const ksInput = take(8 * (bigLweDimension(params) + 1));
  const ksOutput = take(8 * (n + 1));
  const switched = take(4 * (n + 1));
  return { size: Math.ceil(at / 65536) * 65536, twist, untwist, fftTable, fftTableEnd, acc, rot, fourierDigits, fourierOut, ksInput, ksOutput, switched };
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
  readonly kernels: Kernels;
  readonly base: number;
  readonly acc: Float64Array;
  readonly fourierOut: Float64Array;
  readonly ksInput: Uint32Array;
  readonly small: Uint32Array;
  readonly switched: Uint32Array;
  readonly layout: WasmScratchLayout;
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
  const state: ThreadKeyState = {
    kernels: instantiateKernels(key.memory),
    base,
    acc: new Float64Array(buffer, base + layout.acc, (k + 1) * N),
    fourierOut: new Float64Array(buffer, base + layout.fourierOut, (k + 1) * N),
    ksInput: new Uint32Array(buffer, base + layout.ksInput, 2 * (bigLweDimension(key.params) + 1)),
    small: new Uint32Array(buffer, base + layout.ksOutput, 2 * (n + 1)),
    switched: new Uint32Array(buffer, base + layout.switched, n + 1),
    layout,
  };
  states.set(key.memory, state);
  return state;
}

/** Keyswitch with the wasm kernel into the thread's scratch; null when the wasm path is unavailable. */
export function keyswitchWasm(key: ServerKey, input: Uint32Array): Uint32Array | null {
  const s = stateFor(key);
  if (!s) return null;
  s.ksInput.set(input);
  const p = key.params;
  s.kernels.keyswitch(
    key.keyswitchKeyLo.byteOffset,
    key.keyswitchKeyHi.byteOffset,
    s.ksInput.byteOffset,
    s.small.byteOffset,
    bigLweDimension(p),
    p.lweDimension + 1,
    p.ksBaseLog,
    p.ksLevel,
  );
  return s.small;
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
 * The PBS alone (modulus switch, blind rotation, sample extraction) of `small` (n+1 words under
 * the small key, possibly the thread's keyswitch scratch) into `output`; false when the wasm path
 * is unavailable.
 */
export function bootstrapSmallWasm(key: ServerKey, small: Uint32Array, lutBody: Uint32Array, output: Uint32Array): boolean {
  const s = stateFor(key);
  if (!s) return false;
  const params = key.params;
  const { polynomialSize: N, glweDimension: k, lweDimension: n, pbsBaseLog: beta } = params;
  const L = s.layout;
  const base = s.base;
  modulusSwitchForBlindRotation(params, key.modulusSwitchZeros, small, s.switched);
  initAccumulator(params, lutBody, s.switched[n]!, s.acc);

  // The loop over the mask runs inside wasm (kernel `blind_rotate`): same kernels, same order.
  s.kernels.blind_rotate(
    s.switched.byteOffset,
    n,
    k + 1,
    N,
    base + L.acc,
    base + L.rot,
    base + L.fourierDigits,
    base + L.fourierOut,
    base + L.twist,
    base + L.untwist,
    base + L.fftTable,
    base + L.fftTableEnd,
    key.fourierBootstrapKey.byteOffset,
    2 ** -(64 - beta),
    2 ** beta,
  );
  sampleExtractF64(params, s.acc, output);
  return true;
}
