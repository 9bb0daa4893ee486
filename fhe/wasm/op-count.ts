/**
 * Instruction counts of the engine's kernels, for the engine bench's arithmetic floor (how fast a
 * blind rotation could possibly run on a core, from how many floating-point vector instructions
 * it executes and how many such instructions per second the core can issue).
 *
 * `countingKernelsWat` is the kernels' text with every f64x2 arithmetic, v128 load / store and
 * shuffle instruction wrapped so it also adds one to an exported i64 global of its kind
 * (`ops_add`: add, sub, neg; `ops_mul`; `ops_fma`: relaxed madd / nmadd; `ops_load`, `ops_store`,
 * `ops_shuffle`). The kernels branch on public sizes and on the public rotation amounts only,
 * never on key or accumulator data, so one run on any data counts every run of that shape. Counting instances are for counting only: the increments make them slow.
 */
import type { ShortintParameters } from '../params/parameters.ts';
import { callBlindRotate, wasmScratchLayout, writeTables } from '../algorithms/pbs-wasm.ts';
import { kernelsWat } from './kernels-wat.ts';
import type { Kernels } from './kernels.ts';

/** The counted kinds and the instructions of each: three of floating-point arithmetic, then vector memory and shuffles. */
export const COUNTED_INSTRUCTIONS = {
  add: ['f64x2.add', 'f64x2.sub', 'f64x2.neg'],
  mul: ['f64x2.mul'],
  fma: ['f64x2.relaxed_madd', 'f64x2.relaxed_nmadd'],
  load: ['v128.load'],
  store: ['v128.store'],
  shuffle: ['i8x16.shuffle'],
} as const;
export type CountedKind = keyof typeof COUNTED_INSTRUCTIONS;
const KINDS = Object.keys(COUNTED_INSTRUCTIONS) as CountedKind[];
/** The floating-point kinds (what {@link OpCounts} `total` adds up). */
export const ARITHMETIC_KINDS = ['add', 'mul', 'fma'] as const satisfies readonly CountedKind[];
/** Instructions that leave nothing on the stack (the counting block then has no result). */
const NO_RESULT = new Set(['v128.store']);

/** Index just past the parenthesised expression opening at `open` (text without comments). */
function closingIndex(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced kernel text at ${open}`);
}

/** Wraps each counted instruction (folded form `(op a b)`) in a block that first bumps its counter. */
function instrument(text: string): string {
  const kindOf = new Map<string, CountedKind>();
  for (const kind of KINDS) for (const op of COUNTED_INSTRUCTIONS[kind]) kindOf.set(op, kind);
  const pattern = /\(((?:f64x2|v128|i8x16)\.[a-z0-9_]+)[\s)]/g;
  let out = '';
  let copied = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const kind = kindOf.get(m[1]!);
    if (kind === undefined) continue;
    const end = closingIndex(text, m.index);
    // Nested counted instructions inside the operands are instrumented by the recursive call.
    out += text.slice(copied, m.index);
    const result = NO_RESULT.has(m[1]!) ? '' : ' (result v128)';
    out += `(block${result} (global.set $ops_${kind} (i64.add (global.get $ops_${kind}) (i64.const 1))) (${m[1]}${instrument(text.slice(m.index + 1 + m[1]!.length, end))})`;
    copied = end;
    pattern.lastIndex = end;
  }
  return out + text.slice(copied);
}

/** The kernels' text (`fused`: the relaxed variant) with counters; assemble it as the kernels are. */
export function countingKernelsWat(fused: boolean): string {
  const text = kernelsWat(fused).replace(/;;[^\n]*/g, '');
  const globals = KINDS.map((k) => `(global $ops_${k} (export "ops_${k}") (mut i64) (i64.const 0))`).join('\n  ');
  const body = instrument(text).trimEnd();
  // Definitions may follow the memory import anywhere: the counters go last, before the module's ')'.
  if (!body.endsWith(')')) throw new Error('kernel text does not end with )');
  return `${body.slice(0, -1)}  ${globals}\n)\n`;
}

/** Instructions executed, per kind; `total` is the floating-point arithmetic (add + mul + fma). */
export type OpCounts = Record<CountedKind, number> & { total: number };

/**
 * Counts the f64x2 instructions of the blind rotation of `count` accumulators (`count` ≤ the
 * engine's batch) under `params`, on an instance of `countingModule` (assembled from
 * {@link countingKernelsWat}) with its own memory: scratch as the engine lays it out, the DFT
 * tables the engine writes, a zero Fourier key and zero accumulators (the values do not change
 * which instructions run), rotation amounts spread over [0, 2N) (odd and even, so both of the
 * rotation's paths run in their usual shares).
 */
export function countBlindRotationOps(countingModule: WebAssembly.Module, params: ShortintParameters, count: number): OpCounts {
  const layout = wasmScratchLayout(params);
  const { polynomialSize: N, glweDimension: k, lweDimension: n, pbsLevel } = params;
  const keyBytes = 8 * (k + 1) * (k + 1) * pbsLevel * n * N;
  const pages = Math.ceil((layout.size + keyBytes) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const exports = new WebAssembly.Instance(countingModule, { env: { memory } }).exports;
  writeTables(new Float64Array(memory.buffer), 0, layout, N);
  for (let c = 0; c < count; c++) {
    const switched = new Uint32Array(memory.buffer, layout.switched + c * layout.switchedStride, n + 1);
    for (let i = 0; i <= n; i++) switched[i] = (37 * i + c) % (2 * N);
  }
  // A fresh instance: its counters start at 0.
  callBlindRotate(exports as unknown as Kernels, 0, layout, params, layout.size, count);
  return readCounts(exports);
}

/** The counters of a counting instance, read and reset. */
export function readCounts(exports: WebAssembly.Exports): OpCounts {
  const counters = exports as Record<`ops_${CountedKind}`, WebAssembly.Global>;
  const counts = Object.fromEntries(KINDS.map((kind) => [kind, Number(counters[`ops_${kind}`].value as bigint)])) as Record<
    CountedKind,
    number
  >;
  for (const kind of KINDS) counters[`ops_${kind}`].value = 0n;
  return { ...counts, total: ARITHMETIC_KINDS.reduce((s, kind) => s + counts[kind], 0) };
}

/**
 * One accumulator polynomial's forward and backward DFT (M = N/2 points, the engine's tables) on
 * an instance of `module` — the engine's kernels (`kernelsModule`) or the counting ones — with its
 * own small memory, so a bench can time a DFT from L1 and count the same DFT's instructions.
 */
export function dftWorkbench(
  module: WebAssembly.Module,
  params: ShortintParameters,
): { forward(): void; backward(): void; readonly exports: WebAssembly.Exports } {
  const layout = wasmScratchLayout(params);
  const N = params.polynomialSize;
  const data = layout.size;
  const pages = Math.ceil((data + 8 * N) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = exports as unknown as Kernels;
  const view = new Float64Array(memory.buffer);
  writeTables(view, 0, layout, N);
  // Digit-sized values (what the forward DFT reads); the pair keeps them bounded.
  for (let i = 0; i < N; i++) view[data / 8 + i] = ((i * 2654435761) % 2 ** 22) - 2 ** 21;
  return {
    forward: () => kernels.fft_fwd(data, data + 4 * N, N / 2, layout.fftTable),
    backward: () => kernels.fft_bwd(data, data + 4 * N, N / 2, layout.fftTable, layout.fftTableEnd),
    exports,
  };
}
