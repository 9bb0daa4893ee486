/**
 * The arithmetic floor of a blind rotation on this core: the f64x2 instructions the engine's
 * blind rotation executes (counted on instrumented kernels, `fhe/wasm/op-count.ts`) divided by
 * the most f64x2 instructions per second this core issues in WebAssembly. The rate comes from a
 * throughput microbenchmark (12 independent dependency chains per loop iteration, best of 15
 * runs) for FMA only, add only, multiply only and the blind rotation's own mix; the floor takes
 * the best of them, which favours the engine. No schedule of the same arithmetic runs faster.
 *
 * A second floor also charges the blind rotation's vector loads and stores: the same mix with
 * loads and stores (from L1, in the blind rotation's proportion to its arithmetic) in the loop.
 * The real kernels also shuffle, compute addresses, and read the 60 MB Fourier key from beyond
 * the caches; the keyswitch, modulus switch and sample extraction come on top of both floors.
 */
import wabtInit from 'wabt';
import {
  ARITHMETIC_KINDS,
  countBlindRotationOps,
  countingKernelsWat,
  dftWorkbench,
  kernelsModule,
  readCounts,
  type OpCounts,
  type ShortintParameters,
} from '../../fhe/index.ts';

type ArithmeticKind = (typeof ARITHMETIC_KINDS)[number];

const CHAINS = 12;
const ITERATIONS = 10_000_000;
const RUNS = 15;

/** One step of chain `a`; `operand` is the addend (a local, or a load). */
const INSTRUCTION: Record<ArithmeticKind, (a: string, operand: string) => string> = {
  add: (a, c) => `(f64x2.add ${a} ${c})`,
  mul: (a) => `(f64x2.mul ${a} (local.get $m))`,
  fma: (a, c) => `(f64x2.relaxed_madd ${a} (local.get $m) ${c})`,
};

interface Mix {
  readonly kinds: readonly ArithmeticKind[];
  /** Loads and stores per iteration (each load feeds one add or FMA as its addend; each store writes a chain). */
  readonly loads: number;
  readonly stores: number;
}

/** A loop of the mix's chains, chain i running kinds[i]; loads from and stores to a small buffer (L1). */
function throughputWat({ kinds, loads, stores }: Mix): string {
  const all = kinds.map((_, i) => i);
  // Loads go to the chains that take an addend (adds and FMAs) first.
  const addends = all.filter((i) => kinds[i] !== 'mul');
  if (loads > addends.length || stores > kinds.length) throw new Error('mix has more memory operations than chains');
  const loaded = new Set(addends.slice(0, loads));
  const chain = (i: number) => {
    const operand = loaded.has(i) ? `(v128.load offset=${16 * i} (local.get $p))` : '(local.get $c)';
    return `(local.set $a${i} ${INSTRUCTION[kinds[i]!](`(local.get $a${i})`, operand)})`;
  };
  const store = (i: number) => `(v128.store offset=${1024 + 16 * i} (local.get $p) (local.get $a${i}))`;
  return `(module (memory 1) (func (export "run") (param $n i32) (result f64)
    ${all.map((i) => `(local $a${i} v128)`).join(' ')} (local $m v128) (local $c v128) (local $p i32)
    (local.set $m (f64x2.splat (f64.const 0.9999999)))
    (local.set $c (f64x2.splat (f64.const 1e-9)))
    ${all.map((i) => `(local.set $a${i} (f64x2.splat (f64.const ${1 + i / 1000})))`).join('\n')}
    (loop $l
      ${all.map(chain).join('\n')}
      ${all.slice(0, stores).map(store).join('\n')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (f64x2.extract_lane 0 ${all.map((i) => `(local.get $a${i})`).reduce((a, b) => `(f64x2.add ${a} ${b})`)})))`;
}

type Wabt = Awaited<ReturnType<typeof wabtInit>>;

function assemble(wabt: Wabt, name: string, text: string): WebAssembly.Module {
  const module = wabt.parseWat(name, text, { simd: true, threads: true, relaxed_simd: true });
  try {
    return new WebAssembly.Module(new Uint8Array(module.toBinary({}).buffer));
  } finally {
    module.destroy();
  }
}

/**
 * f64x2 arithmetic instructions per nanosecond of each mix, best of RUNS rounds; the mixes take
 * turns within each round, so a slow spell of this (shared) machine hits all of them alike.
 */
function throughputs<K extends string>(wabt: Wabt, mixes: Record<K, Mix>): Record<K, number> {
  const runs = Object.entries<Mix>(mixes).map(([name, mix]) => {
    const instance = new WebAssembly.Instance(assemble(wabt, 'throughput.wat', throughputWat(mix)));
    const run = instance.exports.run as (n: number) => number;
    // V8 compiles a wasm function with its baseline compiler first and swaps in the optimised
    // code after enough calls: warm up with short calls.
    for (let r = 0; r < 20; r++) run(ITERATIONS / 100);
    return { name, run, ops: ITERATIONS * mix.kinds.length, best: Number.POSITIVE_INFINITY };
  });
  for (let r = 0; r < RUNS; r++) {
    for (const m of runs) {
      const t = performance.now();
      m.run(ITERATIONS);
      m.best = Math.min(m.best, performance.now() - t);
    }
  }
  return Object.fromEntries(runs.map((m) => [m.name, m.ops / (m.best * 1e6)])) as Record<K, number>;
}

/** Best time of one call of `op` in µs, over RUNS timings of 2,000 calls after a warm-up. */
function timeUs(op: () => void): number {
  const calls = 2000;
  for (let i = 0; i < calls; i++) op();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    for (let i = 0; i < calls; i++) op();
    best = Math.min(best, (performance.now() - t) / calls);
  }
  return best * 1000;
}

/** CHAINS kinds in the proportions of `counts` (largest remainders). */
function mixOf(counts: OpCounts): ArithmeticKind[] {
  const kinds = [...ARITHMETIC_KINDS];
  const exact = kinds.map((k) => (CHAINS * counts[k]) / counts.total);
  const whole = exact.map(Math.floor);
  const order = kinds.map((_, i) => i).sort((a, b) => exact[b]! - whole[b]! - (exact[a]! - whole[a]!));
  for (let r = 0, left = CHAINS - whole.reduce((s, x) => s + x, 0); r < left; r++) whole[order[r]!]!++;
  return kinds.flatMap((k, i) => Array.from({ length: whole[i]! }, () => k));
}

export interface ArithmeticFloor {
  /** Instructions of one blind rotation (total: its f64x2 arithmetic). */
  blindRotationVectorOps: OpCounts;
  /** f64x2 arithmetic per ciphertext of a blind rotation of 8 together. */
  blindRotationVectorOpsPerCiphertextBatch8: number;
  /** Measured f64x2 arithmetic instructions per ns, per mix; `withMemory` also loads and stores. */
  peakVectorOpsPerNs: Record<'fma' | 'add' | 'mul' | 'blindRotationMix' | 'blindRotationMixWithMemory', number>;
  /** Arithmetic / the best arithmetic rate, in ms: no blind rotation of these kernels runs faster here. */
  blindRotationFloorMs: number;
  /** Arithmetic / the rate of the mix with its loads and stores, in ms. */
  blindRotationFloorWithMemoryMs: number;
  /**
   * One polynomial's forward and backward DFT (M = N/2 points, data in L1): measured µs (best of
   * 15 × 2,000), and the floor of each (its counted arithmetic / the best rate). A blind
   * rotation runs 2(k+1)·n of them (k+1 each way per mask element).
   */
  dftUs: { forward: number; backward: number; forwardFloor: number; backwardFloor: number };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

let wabtReady: Promise<Wabt> | undefined;

/** The floor for `params` (kernels of the given variant: `fused` = relaxed SIMD). */
export async function arithmeticFloor(params: ShortintParameters, fused: boolean): Promise<ArithmeticFloor> {
  const wabt = await (wabtReady ??= wabtInit());
  const counting = assemble(wabt, 'counting-kernels.wat', countingKernelsWat(fused));
  const single = countBlindRotationOps(counting, params, 1);
  const batch = countBlindRotationOps(counting, params, 8);
  const only = (kind: ArithmeticKind): Mix => ({ kinds: Array(CHAINS).fill(kind), loads: 0, stores: 0 });
  const kinds = mixOf(single);
  const peak = throughputs(wabt, {
    fma: only('fma'),
    add: only('add'),
    mul: only('mul'),
    blindRotationMix: { kinds, loads: 0, stores: 0 },
    blindRotationMixWithMemory: {
      kinds,
      loads: Math.round((CHAINS * single.load) / single.total),
      stores: Math.round((CHAINS * single.store) / single.total),
    },
  });
  const best = Math.max(peak.fma, peak.add, peak.mul, peak.blindRotationMix);
  const counted = dftWorkbench(counting, params);
  // A fresh instance: its counters start at 0, and each read resets them.
  counted.forward();
  const forwardOps = readCounts(counted.exports).total;
  counted.backward();
  const backwardOps = readCounts(counted.exports).total;
  const engine = kernelsModule(fused ? 'relaxed' : 'plain');
  const dft = engine ? dftWorkbench(engine, params) : null;
  return {
    blindRotationVectorOps: single,
    blindRotationVectorOpsPerCiphertextBatch8: batch.total / 8,
    peakVectorOpsPerNs: {
      fma: round(peak.fma),
      add: round(peak.add),
      mul: round(peak.mul),
      blindRotationMix: round(peak.blindRotationMix),
      blindRotationMixWithMemory: round(peak.blindRotationMixWithMemory),
    },
    blindRotationFloorMs: round(single.total / best / 1e6),
    blindRotationFloorWithMemoryMs: round(single.total / peak.blindRotationMixWithMemory / 1e6),
    dftUs: {
      forward: dft ? round(timeUs(dft.forward)) : Number.NaN,
      backward: dft ? round(timeUs(dft.backward)) : Number.NaN,
      forwardFloor: round(forwardOps / best / 1e3),
      backwardFloor: round(backwardOps / best / 1e3),
    },
  };
}
