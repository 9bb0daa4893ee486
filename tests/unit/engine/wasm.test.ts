/**
 * The WebAssembly kernels against the TypeScript reference: the committed binary is the one the
 * WAT source assembles to; keyswitch and PBS outputs are bit-identical to the TypeScript path
 * (same operations in the same order, same rounding); the DFT kernels equal `fft/radix4.ts` for
 * sizes with and without the radix-2 stage; a key with no free scratch slot falls back to
 * TypeScript and stays correct.
 */
import * as tfhe from 'node-tfhe';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createLookupTable,
  deserializeCiphertext,
  loadServerKey,
  programmableBootstrap,
  type ServerKey,
} from '../../../evaluator/engine/index.ts';
import { keyswitchWithKey, pbsScratch, programmableBootstrapLweCiphertext } from '../../../evaluator/engine/algorithms/pbs.ts';
import { keyswitchWasm, programmableBootstrapWasm, wasmScratchLayout, writeTables } from '../../../evaluator/engine/algorithms/pbs-wasm.ts';
import { backwardDft, forwardDft, radix4Plan as radixPlan } from '../../../evaluator/engine/fft/radix4.ts';
import { assembleKernels } from '../../../evaluator/engine/wasm/build.ts';
import { KERNELS_WASM_BASE64 } from '../../../evaluator/engine/wasm/kernels-binary.ts';
import { instantiateKernels } from '../../../evaluator/engine/wasm/kernels.ts';
import { loadTestKeys, TEST_PARAM_SETS, type TestKeys, type TestParamSet } from '../../support/tfhe-keys.ts';
import { decryptFull, seededRandom } from './support.ts';

describe('wasm kernels build', () => {
  it('the committed binary is what kernels-wat.ts assembles to (run `npm run engine:wasm` after editing)', async () => {
    const bytes = await assembleKernels();
    expect(Buffer.from(bytes).toString('base64')).toBe(KERNELS_WASM_BASE64);
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
      const kernels = instantiateKernels(memory);
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
  });

  it('gives bit-identical keyswitch and PBS outputs', () => {
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
  });
});

describe('scratch slots', () => {
  it('falls back to TypeScript, still correct, when every slot of a key is taken', () => {
    const keys = loadTestKeys('tuniform');
    const key = loadServerKey(keys.compressedServerKeyBytes);
    const slots = key.scratchSlots!;
    const flags = new Int32Array(key.memory!.buffer, slots.flags, slots.count);
    for (let s = 0; s < slots.count; s++) Atomics.store(flags, s, 1);
    const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 3n)));
    const lut = createLookupTable(key.params, (v) => 15 - v);
    expect(programmableBootstrapWasm(key, ct.data, lut.body, new Uint32Array(ct.data.length))).toBe(false);
    expect(decryptFull(keys, programmableBootstrap(key, ct, lut))).toBe(12);
    for (let s = 0; s < slots.count; s++) Atomics.store(flags, s, 0);
    expect(programmableBootstrapWasm(key, ct.data, lut.body, new Uint32Array(ct.data.length))).toBe(true);
    expect(Atomics.load(flags, 0)).toBe(1);
  });
});
