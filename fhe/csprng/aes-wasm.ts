/**
 * Loader of the WebAssembly AES-128 counter-block kernel (`aes-wasm-wat.ts`): one instance, with
 * its own small memory, per key. Browser-safe (base64 decoded by `protocol/bytes.ts`, no Node import).
 */
import { base64ToBytes } from '../../protocol/bytes.ts';
import { AES_LAYOUT } from './aes-wasm-layout.ts';
import { AES_WASM_BASE64 } from './aes-wasm-binary.ts';
import { aesTablesLittleEndian, expandAes128Key } from './aes128.ts';

interface AesExports {
  memory: WebAssembly.Memory;
  ctr(firstLo: number, firstHi: number, blocks: number): void;
}

let compiled: WebAssembly.Module | null | undefined;
let tables: ReturnType<typeof aesTablesLittleEndian> | undefined;

/** The compiled kernel, or null where WebAssembly is unavailable (or refuses to compile here). */
function aesModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(base64ToBytes(AES_WASM_BASE64));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Largest number of blocks one `produce` call returns. */
export const WASM_AES_MAX_BLOCKS = AES_LAYOUT.maxBlocks;

/**
 * A keystream producer for one AES key: `produce(first, blocks)` returns a view (valid until the
 * next call) of `blocks` ≤ 4096 keystream blocks as u32 words; null without WebAssembly.
 */
export function createWasmAes(key: Uint8Array): ((firstBlock: number, blocks: number) => Uint32Array) | null {
  const module = aesModule();
  if (!module) return null;
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, {});
  } catch {
    return null;
  }
  const aes = instance.exports as unknown as AesExports;
  const words = new Uint32Array(aes.memory.buffer);
  tables ??= aesTablesLittleEndian();
  words.set(tables.tables, AES_LAYOUT.tables / 4);
  new Uint8Array(aes.memory.buffer).set(tables.sbox, AES_LAYOUT.sbox);
  const roundKeys = expandAes128Key(key);
  for (let i = 0; i < 44; i++) {
    const v = roundKeys[i]!;
    // Big-endian round-key words → the kernel's little-endian columns.
    words[AES_LAYOUT.roundKeys / 4 + i] = ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) >>> 0;
  }
  roundKeys.fill(0);
  const output = new Uint32Array(aes.memory.buffer, AES_LAYOUT.output, 4 * AES_LAYOUT.maxBlocks);
  return (firstBlock, blocks) => {
    if (blocks > AES_LAYOUT.maxBlocks) throw new RangeError(`at most ${AES_LAYOUT.maxBlocks} blocks per call`);
    aes.ctr(firstBlock >>> 0, Math.floor(firstBlock / 4294967296) >>> 0, blocks);
    return output;
  };
}
