/**
 * The WebAssembly kernels against the TypeScript reference: the committed binary is the one the
 * WAT source assembles to; keyswitch and PBS outputs are bit-identical to the TypeScript path
 * (same operations in the same order, same rounding); the DFT kernels equal `fft/radix4.ts` for
 * sizes with and without the radix-2 stage; the relaxed kernels' keyswitch on the KSK's high
 * halves equals its integer model; a key with no free scratch slot falls back to TypeScript and
 * stays correct.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, threadId, Worker } from 'node:worker_threads';
import * as tfhe from 'node-tfhe';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createLookupTable,
  deserializeCiphertext,
  loadServerKey,
  programmableBootstrap,
  serverKeyByteLength,
  type Ciphertext,
  type ServerKey,
} from '../../../fhe/index.ts';
import { keyswitchWithKey, pbsScratch, programmableBootstrapLweCiphertext } from '../../../fhe/algorithms/pbs.ts';
import {
  keyswitchHi32Supported,
  keyswitchHi32VarianceRatio,
  keyswitchWasm,
  programmableBootstrapWasm,
  wasmScratchLayout,
  writeTables,
} from '../../../fhe/algorithms/pbs-wasm.ts';
import { backwardDft, forwardDft, radix4Plan as radixPlan } from '../../../fhe/fft/radix4.ts';
import { decomposeWord } from '../../../fhe/algorithms/decomposition.ts';
import { blindRotateF64, blindRotateF64Scratch, initAccumulator } from '../../../fhe/algorithms/blind-rotate-f64.ts';
import { assembleKernels } from '../../../fhe/wasm/build.ts';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from '../../../fhe/wasm/kernels-binary.ts';
import { instantiateKernels, kernelVariant } from '../../../fhe/wasm/kernels.ts';
import { loadTestKeys, TEST_PARAM_SETS, type TestKeys, type TestParamSet } from '../../support/tfhe-keys.ts';
import { decryptFull, seededRandom, withKernelVariant } from './support.ts';

/** Starts `tests/fixtures/fhe/pbs-worker.ts` with tsx's loader registered inside the worker. */
function startWorker(): Worker {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import: { default: string } }> };
  const tsxApi = pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api']!.import.default)).href;
  const entry = new URL('../../fixtures/fhe/pbs-worker.ts', import.meta.url).href;
  return new Worker(
    "const { workerData } = require('node:worker_threads');" +
      'import(workerData.tsxApi).then((api) => api.tsImport(workerData.entry, workerData.entry));',
    { eval: true, workerData: { tsxApi, entry } },
  );
}

describe('wasm kernels build', () => {
  it('the committed binaries are what kernels-wat.ts assembles to (run `npm run engine:wasm` after editing)', async () => {
    expect(Buffer.from(await assembleKernels(false)).toString('base64')).toBe(KERNELS_WASM_BASE64);
    expect(Buffer.from(await assembleKernels(true)).toString('base64')).toBe(KERNELS_RELAXED_WASM_BASE64);
  });

  it('uses the relaxed-SIMD variant where the runtime has it (Node ≥ 22), else plain', () => {
    const relaxedOk = WebAssembly.validate(Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64'));
    expect(kernelVariant()).toBe(relaxedOk ? 'relaxed' : 'plain');
    if (Number(process.versions.node.split('.')[0]) >= 22) expect(relaxedOk).toBe(true);
  });
});

describe('wasm DFT kernels', () => {
  for (const n of [16, 32, 1024, 2048, 4096]) {
    it(`equal the TypeScript radix-4 DFTs bit for bit (N = ${n}${Math.log2(n / 2) % 2 ? ', radix-2 stage' : ''})`, () => {
      const params = { polynomialSize: n, glweDimension: 1, lweDimension: 4, pbsLevel: 1 } as Parameters<typeof wasmScratchLayout>[0];
      const layout = wasmScratchLayout(params);
      const memory = new WebAssembly.Memory({ initial: layout.size / 65536 + 1, maximum: layout.size / 65536 + 1, shared: true });
      const f64 = new Float64Array(memory.buffer);
      writeTables(f64, 0, layout, n);
      const kernels = instantiateKernels(memory, 'plain');
      const m = n / 2;
      const rng = seededRandom(n);
      const data = Float64Array.from({ length: n }, () => rng() * 2 - 1);
      const at = layout.fourierOut;
      f64.set(data, at / 8);
      const ref = Float64Array.from(data);
      kernels.fft_fwd(at, at + 8 * m, m, layout.fftTable);
      forwardDft(radixPlan(n), ref, 0, m);
      expect(Array.from(f64.subarray(at / 8, at / 8 + n))).toEqual(Array.from(ref));
      kernels.fft_bwd(at, at + 8 * m, m, layout.fftTable, layout.fftTableEnd);
      backwardDft(radixPlan(n), ref, 0, m);
      expect(Array.from(f64.subarray(at / 8, at / 8 + n))).toEqual(Array.from(ref));
      for (let i = 0; i < n; i++) expect(Math.abs(ref[i]! / m - data[i]!)).toBeLessThan(1e-12);
    });
  }
});

type RotationParams = Parameters<typeof wasmScratchLayout>[0] & Parameters<typeof initAccumulator>[0];

/**
 * Shared memory holding the kernels' tables, a random Fourier bootstrap key after the scratch
 * (`extraBytes` free after it), a random table and the accumulator initialised for it; the
 * switched mask and body come from `shifts` (n + 1 values, drawn from the same seeded stream).
 */
function rotationFixture(params: RotationParams, seed: number, extraBytes: number, shifts: (rng: () => number) => number[]) {
  const { polynomialSize: N, glweDimension: k, lweDimension: n } = params;
  const layout = wasmScratchLayout(params);
  const bskDoubles = n * (k + 1) ** 2 * N;
  const pages = Math.ceil((layout.size + 8 * bskDoubles + extraBytes) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  writeTables(new Float64Array(memory.buffer), 0, layout, N);
  const rng = seededRandom(seed);
  const bsk = new Float64Array(memory.buffer, layout.size, bskDoubles);
  for (let i = 0; i < bskDoubles; i++) bsk[i] = (rng() * 2 - 1) * 2 ** 40;
  const lutBody = Uint32Array.from({ length: 2 * N }, () => Math.floor(rng() * 2 ** 32));
  const switched = new Uint32Array(memory.buffer, layout.switched, n + 1);
  switched.set(shifts(rng));
  const acc = new Float64Array(memory.buffer, layout.acc, (k + 1) * N);
  initAccumulator(params, lutBody, switched[n]!, acc);
  return { memory, layout, bsk, lutBody, switched, acc };
}

/** `blind_rotate` over every mask element of the fixture's key (level 1, base log 23). */
function blindRotateAll(
  kernels: ReturnType<typeof instantiateKernels>,
  layout: ReturnType<typeof wasmScratchLayout>,
  params: RotationParams,
) {
  const { polynomialSize: N, glweDimension: k, lweDimension: n } = params;
  kernels.blind_rotate(
    layout.switched,
    n,
    k + 1,
    N,
    layout.acc,
    layout.fourierDigits,
    layout.fourierOut,
    layout.twist,
    layout.untwist,
    layout.fftTable,
    layout.fftTableEnd,
    layout.size,
    2 ** -41,
    2 ** 23,
    1,
    layout.switchedStride,
    layout.accStride,
  );
}

describe('wasm blind rotation kernel', () => {
  // k = 1 takes the fused two-output multiply-accumulate, k = 2 the per-output one; N = 16 and 32
  // the generic DFT, rotation, multiply-accumulate and untwist kernels, N = 2048 and 4096 the
  // fixed-length / fixed-M ones.
  for (const [k, N] of [
    [1, 16],
    [2, 16],
    [2, 32],
    [1, 2048],
    [2, 2048],
    [1, 4096],
  ] as const) {
    it(`equals the TypeScript blind rotation bit for bit (k = ${k}, N = ${N})`, () => {
      const n = 7;
      const params = { polynomialSize: N, glweDimension: k, lweDimension: n, pbsLevel: 1, pbsBaseLog: 23 } as Parameters<
        typeof blindRotateF64
      >[0];
      const { memory, layout, bsk, lutBody, switched, acc } = rotationFixture(params, 1000 * k + N, 0, (rng) => [
        // Every rotation class: 0 (skipped), below N, N itself, above N.
        ...[0, 1, N - 1, N, N + 3, 2 * N - 1],
        Math.floor(rng() * 2 * N),
        Math.floor(rng() * 2 * N),
      ]);
      blindRotateAll(instantiateKernels(memory, 'plain'), layout, params);
      const ts = blindRotateF64Scratch(params);
      blindRotateF64(params, Float64Array.from(bsk), Uint32Array.from(switched), lutBody, ts);
      expect(Array.from(acc)).toEqual(Array.from(ts.acc));
    });
  }
});

describe('wasm blind rotation: fixed-size kernels against the generic ones', () => {
  // blind_rotate runs the fixed-M rotation, k = 1 multiply-accumulate and (N = 2048) the backward
  // DFT with the untwist fused in; here the same steps are driven from JavaScript through the
  // exported generic kernels (rotate_sub_twist, fft_fwd, mac_rows, fft_bwd, untwist_add). On the
  // relaxed variant this is the only check of the fixed kernels (no TypeScript twin rounds the
  // same way); on plain it separates a fixed-kernel fault from a generic one.
  for (const variant of ['plain', 'relaxed'] as const) {
    for (const [k, N] of [
      [1, 2048],
      [2, 2048],
      [1, 4096],
      [2, 4096],
    ] as const) {
      it(`${variant}: the same bits (k = ${k}, N = ${N})`, () => {
        const n = 9;
        const params = { polynomialSize: N, glweDimension: k, lweDimension: n, pbsLevel: 1, pbsBaseLog: 23 } as Parameters<
          typeof wasmScratchLayout
        >[0];
        const k1 = k + 1;
        const P = 8 * N;
        const m = N / 2;
        const h = 8 * m;
        const bskDoubles = n * k1 * k1 * N;
        // Room for a second accumulator after the key, for the generic driver.
        const { memory, layout, switched, acc } = rotationFixture(params, 7000 + 10 * k + N, 8 * k1 * N, (rng) => [
          // Rotation shifts: odd and even break points on both sides of M, M itself, a ≥ N, 0 (skipped).
          ...[1, 2, m, m + 1, m + 2, N - 1, N + m, 2 * N - 2, 0],
          Math.floor(rng() * 2 * N),
        ]);
        const f64 = new Float64Array(memory.buffer);
        const start = Float64Array.from(acc);
        const kernels = instantiateKernels(memory, variant);
        blindRotateAll(kernels, layout, params);
        const fixed = Float64Array.from(acc);
        // The generic driver, on a second accumulator after the key.
        const acc2 = layout.size + 8 * bskDoubles;
        f64.set(start, acc2 / 8);
        const { fourierDigits: fd, fourierOut: fo } = layout;
        for (let i = 0; i < n; i++) {
          const a = switched[i]!;
          if (a === 0) continue;
          const ggsw = layout.size + i * k1 * k1 * P;
          for (let r = 0; r < k1; r++) {
            kernels.rotate_sub_twist(acc2 + r * P, a, N, fd + r * P, layout.twist, 2 ** -41, 2 ** 23);
            kernels.fft_fwd(fd + r * P, fd + r * P + h, m, layout.fftTable);
          }
          for (let r = 0; r < k1; r++) kernels.mac_rows(fd, P, ggsw + r * P, k1 * P, k1, fo + r * P, m);
          for (let r = 0; r < k1; r++) {
            kernels.fft_bwd(fo + r * P, fo + r * P + h, m, layout.fftTable, layout.fftTableEnd);
            kernels.untwist_add(fo + r * P, fo + r * P + h, acc2 + r * P, m, layout.untwist);
          }
        }
        const generic = f64.slice(acc2 / 8, acc2 / 8 + k1 * N);
        expect(fixed).not.toEqual(start);
        expect(Buffer.from(fixed.buffer).equals(Buffer.from(generic.buffer))).toBe(true);
      });
    }
  }
});

describe.each(Object.keys(TEST_PARAM_SETS) as TestParamSet[])('wasm path vs TypeScript path (%s)', (paramSet) => {
  let keys: TestKeys;
  let key: ServerKey;

  beforeAll(() => {
    keys = loadTestKeys(paramSet);
    key = loadServerKey(keys.compressedServerKeyBytes);
  });

  it('holds the key in a shared WebAssembly memory', () => {
    expect(key.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(key.fourierBootstrapKey.buffer).toBe(key.memory!.buffer);
    const arrays = key.keyswitchKeyLo.byteLength * 2 + key.fourierBootstrapKey.byteLength + (key.modulusSwitchZeros?.byteLength ?? 0);
    expect(serverKeyByteLength(key)).toBe(key.memory!.buffer.byteLength);
    expect(serverKeyByteLength(key)).toBeGreaterThan(arrays);
    // 16 scratch slots of ~0.6 MB (batch state for 8 ciphertexts each); untouched pages stay uncommitted.
    expect(serverKeyByteLength(key)).toBeLessThan(arrays + 12 * 2 ** 20);
  });

  it('gives bit-identical keyswitch and PBS outputs (plain SIMD kernels)', () =>
    withKernelVariant('plain', () => {
      const lut = createLookupTable(key.params, (v) => (v * 11 + 5) % 16);
      const scratch = pbsScratch(key.params);
      for (let m = 0n; m < 4n; m++) {
        const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, m)));
        expect(Array.from(keyswitchWasm(key, ct.data)!)).toEqual(Array.from(keyswitchWithKey(key, ct.data, scratch)));
        const fast = new Uint32Array(ct.data.length);
        const reference = new Uint32Array(ct.data.length);
        expect(programmableBootstrapWasm(key, ct.data, lut.body, fast)).toBe(true);
        programmableBootstrapLweCiphertext(key, ct.data, lut.body, reference, scratch, 'f64');
        expect(Buffer.from(fast.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
      }
    }));

  it('keyswitches with the KSK high halves on the relaxed kernels: its integer model, within 2^44 of the exact keyswitch', () => {
    const p = key.params;
    const size = p.lweDimension + 1;
    const digits = new Int32Array(p.ksLevel);
    const scratch = pbsScratch(p);
    for (let m = 0n; m < 4n; m++) {
      const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, m)));
      const fast = withKernelVariant('relaxed', () => keyswitchWasm(key, ct.data)!.slice());
      const exact = keyswitchWithKey(key, ct.data, scratch);
      // Model: out_w = [w = n]·b − Σ d·K_hi·2^32 − 2^31·Σ d (mod 2^64), the digits tfhe-rs's.
      const sums = new Int32Array(size);
      let digitSum = 0n;
      for (let i = 0; i < ct.data.length / 2 - 1; i++) {
        decomposeWord(ct.data[2 * i]!, ct.data[2 * i + 1]!, p.ksBaseLog, p.ksLevel, digits, 0);
        for (let j = 0; j < p.ksLevel; j++) {
          const d = digits[j]!;
          digitSum += BigInt(d);
          const row = (i * p.ksLevel + j) * size;
          for (let w = 0; w < size; w++) sums[w] = (sums[w]! - Math.imul(d, key.keyswitchKeyHi[row + w]!)) | 0;
        }
      }
      const word = (a: Uint32Array, w: number) => BigInt(a[2 * w]!) + (BigInt(a[2 * w + 1]!) << 32n);
      const body = word(ct.data, ct.data.length / 2 - 1);
      for (let w = 0; w < size; w++) {
        const model = BigInt.asUintN(64, (BigInt(sums[w]!) << 32n) - (digitSum << 31n) + (w === size - 1 ? body : 0n));
        expect(word(fast, w)).toBe(model);
        const error = BigInt.asIntN(64, word(fast, w) - word(exact, w));
        expect(error < 0n ? -error : error).toBeLessThan(2n ** 44n);
      }
    }
  });

  it('keyswitches exactly on the relaxed kernels when the high halves would not be negligible (β×L = 16×1)', () => {
    // The same key memory read with a 16-bit single-level decomposition: digits up to 2^15 make
    // Σ d·(K_lo − 2^31) as large as the modulus switch rounding, so the exact kernel must run.
    const wide: ServerKey = { ...key, params: { ...key.params, ksBaseLog: 16, ksLevel: 1 } };
    const scratch = pbsScratch(wide.params);
    for (let m = 0n; m < 2n; m++) {
      const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, m)));
      const fast = withKernelVariant('relaxed', () => keyswitchWasm(wide, ct.data)!.slice());
      expect(Buffer.from(fast.buffer).equals(Buffer.from(keyswitchWithKey(wide, ct.data, scratch).buffer))).toBe(true);
    }
  });
});

describe('high-half keyswitch eligibility', () => {
  it('admits the 2_2 sets (added variance ≤ 2^−22 of the modulus switch rounding) and refuses wide decompositions', () => {
    const base = { glweDimension: 1, polynomialSize: 2048, lweDimension: 918 } as const;
    const ratio = (ksBaseLog: number, ksLevel: number, polynomialSize = 2048) =>
      Math.log2(
        keyswitchHi32VarianceRatio({ ...base, polynomialSize, ksBaseLog, ksLevel } as Parameters<typeof keyswitchHi32VarianceRatio>[0]),
      );
    expect(ratio(4, 4)).toBeCloseTo(-22.57, 2);
    expect(ratio(3, 5)).toBeCloseTo(-24.22, 2);
    const ok = (ksBaseLog: number, ksLevel: number, polynomialSize = 2048) =>
      keyswitchHi32Supported({ ...base, polynomialSize, ksBaseLog, ksLevel } as Parameters<typeof keyswitchHi32Supported>[0]);
    expect([ok(4, 4), ok(3, 5), ok(4, 4, 4096), ok(8, 2), ok(16, 1), ok(13, 4), ok(26, 2)]).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('scratch slots', () => {
  it('falls back to TypeScript, still correct, when every slot of a key is taken by other threads', () => {
    const keys = loadTestKeys('tuniform');
    const key = loadServerKey(keys.compressedServerKeyBytes);
    const slots = key.scratchSlots!;
    const flags = new Int32Array(key.memory!.buffer, slots.flags, slots.count);
    for (let s = 0; s < slots.count; s++) Atomics.store(flags, s, 1000 + s);
    const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 3n)));
    const lut = createLookupTable(key.params, (v) => 15 - v);
    expect(programmableBootstrapWasm(key, ct.data, lut.body, new Uint32Array(ct.data.length))).toBe(false);
    expect(decryptFull(keys, programmableBootstrap(key, ct, lut))).toBe(12);
    for (let s = 0; s < slots.count; s++) Atomics.store(flags, s, 0);
    expect(programmableBootstrapWasm(key, ct.data, lut.body, new Uint32Array(ct.data.length))).toBe(true);
    expect(Atomics.load(flags, 0)).toBe(threadId + 1);
  });

  it('ignores scratch-slot geometry that does not fit the key memory (TypeScript path instead)', () => {
    const keys = loadTestKeys('tuniform');
    const key = loadServerKey(keys.compressedServerKeyBytes);
    const bad = { ...key, memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) };
    const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 2n)));
    const lut = createLookupTable(key.params, (v) => 15 - v);
    expect(programmableBootstrapWasm(bad, ct.data, lut.body, new Uint32Array(ct.data.length))).toBe(false);
    expect(decryptFull(keys, programmableBootstrap(bad, ct, lut))).toBe(13);
  });

  it('lets a thread that receives the same key again re-use its own slot', async () => {
    const keys = loadTestKeys('tuniform');
    const key = loadServerKey(keys.compressedServerKeyBytes);
    const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 1n)));
    const lut = createLookupTable(key.params, (v) => (v + 1) % 16);
    const flags = new Int32Array(key.memory!.buffer, key.scratchSlots!.flags, key.scratchSlots!.count);
    for (let round = 0; round < 3; round++) {
      const { port1, port2 } = new MessageChannel();
      const received = new Promise<ServerKey>((resolve) => port2.once('message', resolve));
      port1.postMessage(key);
      const again = await received;
      port1.close();
      expect(again.memory).not.toBe(key.memory); // a new wrapper of the same shared memory
      expect(decryptFull(keys, programmableBootstrap(again, ct, lut))).toBe(2);
    }
    expect(Array.from(flags).filter((f) => f !== 0)).toEqual([threadId + 1]);
  });

  it('runs bootstraps concurrently in worker threads sharing one key, each on its own slot', async () => {
    const keys = loadTestKeys('tuniform');
    const key = loadServerKey(keys.compressedServerKeyBytes);
    const lut = createLookupTable(key.params, (v) => (v * 3 + 2) % 16);
    const workers = [0, 1].map(() => startWorker());
    try {
      for (const w of workers) w.postMessage({ key });
      const replies = new Map<number, (r: { threadId: number; out: Ciphertext }) => void>();
      for (const w of workers) w.on('message', (r: { id: number; threadId: number; out: Ciphertext }) => replies.get(r.id)?.(r));
      const jobs = [0, 1, 2, 3].map((m) => {
        const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, BigInt(m))));
        return new Promise<{ threadId: number; out: Ciphertext }>((resolve) => {
          replies.set(m, resolve);
          workers[m % 2]!.postMessage({ id: m, ct, lut });
        }).then((r) => ({ ...r, m }));
      });
      // The main thread bootstraps at the same time.
      const local = programmableBootstrap(
        key,
        deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 2n))),
        lut,
      );
      const results = await Promise.all(jobs);
      for (const { m, out } of results) expect(decryptFull(keys, out)).toBe((m * 3 + 2) % 16);
      expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
      expect(decryptFull(keys, local)).toBe(8);
      const flags = new Int32Array(key.memory!.buffer, key.scratchSlots!.flags, key.scratchSlots!.count);
      const tags = Array.from(flags).filter((f) => f !== 0);
      expect(new Set(tags).size).toBe(3); // main thread + two workers
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
});
