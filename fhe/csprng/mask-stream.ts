/**
 * Browser-safe tfhe-csprng mask stream (the same stream as `aes-ctr.ts`, which the evaluator
 * uses): block c of a seed is AES-128(seed, LE128(c)); with the native modulus, mask word w of a
 * seeded object is stream bytes 8·w … 8·w+7 (little-endian) counted from the seed's first AES
 * index and byte index, so any word range can be generated on its own.
 *
 * AES comes from `node:crypto` when the runtime is Node (AES-NI; found with
 * `process.getBuiltinModule`, so no static `node:` import reaches a browser bundle), otherwise
 * from the WebAssembly T-table kernel (`aes-wasm.ts`), or the TypeScript one (`aes128.ts`) where
 * WebAssembly is unavailable. Table look-ups are acceptable here because mask seeds are public.
 */
import type { CompressionSeed } from '../entities/server-key.ts';
import { aes128CounterBlocks, expandAes128Key } from './aes128.ts';
import { createWasmAes } from './aes-wasm.ts';

export type AesBackend = 'auto' | 'node' | 'wasm' | 'table';

/** Generates any range of one seed's mask words. */
export interface MaskStream {
  /** Writes mask words `firstWord … firstWord+count−1` to `out` as u32 pairs from u32 index 2·outWord. */
  fill(firstWord: number, count: number, out: Uint32Array, outWord?: number): void;
  /** Which AES implementation the stream runs on. */
  readonly backend: Exclude<AesBackend, 'auto'>;
}

/** Blocks per AES call: 64 KiB of stream, small enough to stay in cache. */
const CHUNK_BLOCKS = 4096;

interface NodeCipher {
  update(data: Uint8Array): Uint8Array;
  setAutoPadding(on: boolean): unknown;
}
interface NodeCrypto {
  createCipheriv(algorithm: string, key: Uint8Array, iv: null): NodeCipher;
}

function nodeCrypto(): NodeCrypto | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
  return mod && typeof mod.createCipheriv === 'function' ? mod : null;
}

/** The AES implementation `auto` picks here: `node` in Node, else `wasm` where WebAssembly runs, else `table`. */
export function defaultAesBackend(): Exclude<AesBackend, 'auto'> {
  if (nodeCrypto()) return 'node';
  return createWasmAes(new Uint8Array(16)) ? 'wasm' : 'table';
}

/** Position of the stream's word 0, in u64 words from block 0 (the seed's first index and byte). */
function streamOrigin(seed: CompressionSeed): number {
  if (seed.firstByteIndex % 8 !== 0) {
    throw new RangeError(`mask streams start on a u64 boundary; first byte index ${seed.firstByteIndex} is not`);
  }
  const origin = seed.firstAesIndex * 2n + BigInt(seed.firstByteIndex / 8);
  if (origin > BigInt(Number.MAX_SAFE_INTEGER) / 4n) throw new RangeError(`first AES index ${seed.firstAesIndex} is too large`);
  return Number(origin);
}

export function createMaskStream(seed: CompressionSeed, backend: AesBackend = 'auto'): MaskStream {
  const origin = streamOrigin(seed);
  const node = backend === 'auto' || backend === 'node' ? nodeCrypto() : null;
  if (backend === 'node' && !node) throw new Error('the node AES backend needs Node.js (node:crypto)');
  const wasm = !node && (backend === 'auto' || backend === 'wasm') ? createWasmAes(seed.seed) : null;
  if (backend === 'wasm' && !wasm) throw new Error('the wasm AES backend needs WebAssembly');
  const chunk = new Uint32Array(4 * CHUNK_BLOCKS);
  let produce: (firstBlock: number, blocks: number) => Uint32Array;
  if (wasm) {
    produce = wasm;
  } else if (node) {
    const cipher = node.createCipheriv('aes-128-ecb', seed.seed, null);
    cipher.setAutoPadding(false);
    const counters = new Uint32Array(4 * CHUNK_BLOCKS);
    const counterBytes = new Uint8Array(counters.buffer);
    produce = (firstBlock, blocks) => {
      for (let b = 0; b < blocks; b++) {
        const c = firstBlock + b;
        counters[4 * b] = c >>> 0;
        counters[4 * b + 1] = Math.floor(c / 4294967296) >>> 0;
      }
      const stream = cipher.update(counterBytes.subarray(0, 16 * blocks));
      // Node returns a Buffer that may not be 4-byte aligned: copy through bytes.
      new Uint8Array(chunk.buffer).set(stream.subarray(0, 16 * blocks));
      return chunk;
    };
  } else {
    const roundKeys = expandAes128Key(seed.seed);
    produce = (firstBlock, blocks) => {
      aes128CounterBlocks(roundKeys, firstBlock, blocks, chunk, 0);
      return chunk;
    };
  }
  return {
    backend: wasm ? 'wasm' : node ? 'node' : 'table',
    fill(firstWord, count, out, outWord = 0) {
      let word = origin + firstWord; // absolute stream word
      let dst = 2 * outWord;
      let left = count;
      while (left > 0) {
        const block = Math.floor(word / 2);
        const skip = word - 2 * block; // 0 or 1 word inside the first block
        const blocks = Math.min(CHUNK_BLOCKS, Math.ceil((left + skip) / 2));
        const src = produce(block, blocks);
        const take = Math.min(left, 2 * blocks - skip);
        out.set(src.subarray(2 * skip, 2 * (skip + take)), dst);
        dst += 2 * take;
        word += take;
        left -= take;
      }
    },
  };
}
