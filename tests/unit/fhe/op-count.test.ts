/**
 * The instruction-counting kernels (`fhe/wasm/op-count.ts`, the engine bench's arithmetic floor):
 * they compute exactly what the engine's kernels compute (same bits, both variants), their counts
 * of one DFT equal the closed form of the radix-4 kernels, and a blind rotation's counts do not
 * depend on the key or accumulator data.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { callBlindRotate, wasmScratchLayout, writeTables } from '../../../fhe/algorithms/pbs-wasm.ts';
import { instantiateKernels, type Kernels, type KernelVariant } from '../../../fhe/wasm/kernels.ts';
import { countBlindRotationOps, countingKernelsWat, dftWorkbench, readCounts, type CountedKind } from '../../../fhe/wasm/op-count.ts';
import { deserializeCompressedServerKey, type ShortintParameters } from '../../../fhe/index.ts';
import { loadTestKeys } from '../../support/tfhe-keys.ts';
import { seededRandom } from './support.ts';

const VARIANTS: readonly KernelVariant[] = ['plain', 'relaxed'];
const counting = new Map<KernelVariant, WebAssembly.Module>();
let params: ShortintParameters;

beforeAll(async () => {
  const wabt = await wabtInit();
  for (const variant of VARIANTS) {
    const module = wabt.parseWat('counting.wat', countingKernelsWat(variant === 'relaxed'), {
      simd: true,
      threads: true,
      relaxed_simd: true,
    });
    counting.set(variant, new WebAssembly.Module(new Uint8Array(module.toBinary({}).buffer)));
    module.destroy();
  }
  // A real key's parameters with a short mask: the kernels take n only as a loop count.
  params = { ...deserializeCompressedServerKey(loadTestKeys('tuniform').compressedServerKeyBytes).params, lweDimension: 24 };
}, 120_000);

type Counters = Record<`ops_${string}`, WebAssembly.Global>;

function memoryOfPages(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

function fill(view: Float64Array, seed: number, scale: number): void {
  const random = seededRandom(seed);
  for (let i = 0; i < view.length; i++) view[i] = Math.round((random() - 0.5) * scale);
}

describe('counting kernels', () => {
  it.each(VARIANTS)('compute the same bits as the %s kernels (DFTs and a batch of blind rotations)', (variant) => {
    const layout = wasmScratchLayout(params);
    const { polynomialSize: N, glweDimension: k, lweDimension: n } = params;
    const keyBytes = 8 * (k + 1) * (k + 1) * n * N;
    const pages = Math.ceil((layout.size + keyBytes + 16 * N) / 65536);
    const run = (kernels: Kernels, memory: WebAssembly.Memory) => {
      const view = new Float64Array(memory.buffer);
      writeTables(view, 0, layout, N);
      const random = seededRandom(7);
      for (let c = 0; c < 3; c++) {
        const switched = new Uint32Array(memory.buffer, layout.switched + c * layout.switchedStride, n + 1);
        for (let i = 0; i <= n; i++) switched[i] = Math.floor(random() * 2 * N);
        fill(new Float64Array(memory.buffer, layout.acc + c * layout.accStride, (k + 1) * N), 11 + c, 2 ** 62);
      }
      fill(new Float64Array(memory.buffer, layout.size, keyBytes / 8), 5, 2 ** 40);
      callBlindRotate(kernels, 0, layout, params, layout.size, 3);
      // A DFT pair on its own, past the key.
      const dft = layout.size + keyBytes;
      fill(new Float64Array(memory.buffer, dft, N), 3, 2 ** 20);
      kernels.fft_fwd(dft, dft + 4 * N, N / 2, layout.fftTable);
      const forward = new Float64Array(memory.buffer, dft, N).slice();
      kernels.fft_bwd(dft, dft + 4 * N, N / 2, layout.fftTable, layout.fftTableEnd);
      return {
        acc: new Float64Array(memory.buffer, layout.acc, 3 * (layout.accStride / 8)).slice(),
        forward,
        backward: new Float64Array(memory.buffer, dft, N).slice(),
      };
    };
    const plainMemory = memoryOfPages(pages);
    const countingMemory = memoryOfPages(pages);
    const expected = run(instantiateKernels(plainMemory, variant), plainMemory);
    const instance = new WebAssembly.Instance(counting.get(variant)!, { env: { memory: countingMemory } });
    const actual = run(instance.exports as unknown as Kernels, countingMemory);
    expect(Buffer.from(actual.acc.buffer).equals(Buffer.from(expected.acc.buffer))).toBe(true);
    expect(Buffer.from(actual.forward.buffer).equals(Buffer.from(expected.forward.buffer))).toBe(true);
    expect(Buffer.from(actual.backward.buffer).equals(Buffer.from(expected.backward.buffer))).toBe(true);
    expect(Number((instance.exports as unknown as Counters).ops_add!.value)).toBeGreaterThan(0);
  });

  it.each(VARIANTS)('count one forward DFT of 1,024 points as the radix-4 closed form (%s)', (variant) => {
    const bench = dftWorkbench(counting.get(variant)!, params);
    readCounts(bench.exports);
    bench.forward();
    const counts = readCounts(bench.exports);
    const count = (kind: CountedKind) => counts[kind];
    // 1,024 = 4^5: four twiddled radix-4 stages of 128 steps (two lanes × four points each: 16
    // adds or subtracts, three complex twiddle products), then the length-4 stage, 256 steps of
    // 8 adds or subtracts and one negation, 4 shuffles, 4 loads and 4 stores.
    const twiddled = 4 * 128;
    if (variant === 'relaxed') {
      // product (a + ib)(c + id): re = fma(−b, d, a·c), im = fma(b, c, a·d)
      expect({ add: count('add'), mul: count('mul'), fma: count('fma') }).toEqual({
        add: twiddled * 16 + 256 * 9,
        mul: twiddled * 6,
        fma: twiddled * 6,
      });
    } else {
      expect({ add: count('add'), mul: count('mul'), fma: count('fma') }).toEqual({
        add: twiddled * (16 + 6) + 256 * 9,
        mul: twiddled * 12,
        fma: 0,
      });
    }
    expect({ load: count('load'), store: count('store'), shuffle: count('shuffle') }).toEqual({
      load: twiddled * 14 + 256 * 4,
      store: twiddled * 8 + 256 * 4,
      shuffle: 256 * 4,
    });
  });

  it('count a blind rotation independently of its data, and the same per ciphertext in a batch', () => {
    const module = counting.get('relaxed')!;
    const one = countBlindRotationOps(module, params, 1);
    expect(one.total).toBe(one.add + one.mul + one.fma);
    // The same rotation amounts as countBlindRotationOps, on random key and accumulator data.
    const layout = wasmScratchLayout(params);
    const { polynomialSize: N, glweDimension: k, lweDimension: n } = params;
    const keyBytes = 8 * (k + 1) * (k + 1) * n * N;
    const memory = memoryOfPages(Math.ceil((layout.size + keyBytes) / 65536));
    writeTables(new Float64Array(memory.buffer), 0, layout, N);
    const switched = new Uint32Array(memory.buffer, layout.switched, n + 1);
    for (let i = 0; i <= n; i++) switched[i] = (37 * i) % (2 * N);
    fill(new Float64Array(memory.buffer, layout.acc, (k + 1) * N), 1, 2 ** 62);
    fill(new Float64Array(memory.buffer, layout.size, keyBytes / 8), 2, 2 ** 40);
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels & Counters;
    callBlindRotate(exports, 0, layout, params, layout.size, 1);
    for (const kind of ['add', 'mul', 'fma', 'load', 'store', 'shuffle'] as const) {
      expect(Number(exports[`ops_${kind}`]!.value), kind).toBe(one[kind]);
    }
    const eight = countBlindRotationOps(module, params, 8);
    // Per ciphertext the same work, up to how many rotations take the odd-break-point path (public
    // data; a few per cent over this short mask, 0.1 % over a real one).
    expect(Math.abs(eight.total / 8 - one.total) / one.total).toBeLessThan(0.05);
  });
});
