/**
 * tfhe-csprng's AES-128 counter-mode generator, as the mask generator of seeded objects uses it
 * (tfhe-csprng `AesCtrGenerator` with a `Ctr` seed): the 16 seed bytes are the AES key, block c is
 * AES-128(key, LE128(c)), and the stream is those blocks' bytes in order starting at the seed's
 * (first AES index, first byte index). With the native modulus each mask word is the next 8
 * stream bytes read little-endian, and forking never leaves gaps, so the mask word of rank w of
 * an object starts at stream byte 8·w: any range can be generated independently.
 *
 * AES itself comes from the platform (`node:crypto`, AES-NI): it is deterministic and does no I/O.
 */
import { createCipheriv } from 'node:crypto';
import type { CompressionSeed } from '../entities/server-key.ts';

/** Blocks encrypted per call: 64 KiB of stream, small enough to stay in cache. */
const CHUNK_BLOCKS = 4096;

/**
 * Fills `out[2·outWord … 2·(outWord+count))` with mask words `firstWord … firstWord+count−1`
 * of the stream of `seed`, as little-endian u32 pairs.
 */
export function fillMaskWords(seed: CompressionSeed, firstWord: number, count: number, out: Uint32Array, outWord = 0): void {
  forEachMaskChunk(seed, firstWord, count, (chunk, chunkFirst) => {
    out.set(chunk, 2 * (outWord + chunkFirst));
  });
}

/**
 * Generates mask words `firstWord … firstWord+count−1` chunk by chunk and hands each chunk to
 * `sink` as little-endian u32 pairs together with the rank (relative to `firstWord`) of its first
 * word. The chunk array is reused between calls.
 */
export function forEachMaskChunk(
  seed: CompressionSeed,
  firstWord: number,
  count: number,
  sink: (chunk: Uint32Array, chunkFirstWord: number) => void,
): void {
  if (count === 0) return;
  const cipher = createCipheriv('aes-128-ecb', seed.seed, null);
  cipher.setAutoPadding(false);
  // Absolute byte position of the first word, split into a block counter and an offset.
  const startByte = seed.firstAesIndex * 16n + BigInt(seed.firstByteIndex) + BigInt(firstWord) * 8n;
  const skip = Number(startByte & 15n); // 0 or 8 in practice, any value 0..15 is handled
  let counter = (startByte >> 4n) & ((1n << 128n) - 1n);
  const counters = new Uint8Array(16 * CHUNK_BLOCKS);
  const counterWords = new Uint32Array(counters.buffer);
  const wordsPerChunk = (16 * CHUNK_BLOCKS - 16) / 8; // leave one block of slack for the skip
  const chunkBytes = new Uint8Array(wordsPerChunk * 8);
  const chunk = new Uint32Array(chunkBytes.buffer);
  let done = 0;
  let pos = skip;
  let carry = new Uint8Array(0);
  while (done < count) {
    const n = Math.min(wordsPerChunk, count - done);
    // Stream bytes still buffered from the previous chunk come first.
    const needBytes = n * 8 - carry.length;
    const blocks = Math.ceil((pos + needBytes) / 16);
    writeCounters(counterWords, counter, blocks);
    counter = (counter + BigInt(blocks)) & ((1n << 128n) - 1n);
    const stream = cipher.update(counters.subarray(0, 16 * blocks));
    chunkBytes.set(carry, 0);
    chunkBytes.set(stream.subarray(pos, pos + needBytes), carry.length);
    const used = pos + needBytes;
    carry = Uint8Array.from(stream.subarray(used, 16 * blocks));
    pos = 0;
    sink(n === wordsPerChunk ? chunk : chunk.subarray(0, 2 * n), done);
    done += n;
  }
}

/** Writes `blocks` consecutive little-endian 128-bit counters starting at `start`. */
function writeCounters(words: Uint32Array, start: bigint, blocks: number): void {
  let w0 = Number(start & 0xffff_ffffn);
  let w1 = Number((start >> 32n) & 0xffff_ffffn);
  let w2 = Number((start >> 64n) & 0xffff_ffffn);
  let w3 = Number((start >> 96n) & 0xffff_ffffn);
  for (let b = 0; b < blocks; b++) {
    words[4 * b] = w0;
    words[4 * b + 1] = w1;
    words[4 * b + 2] = w2;
    words[4 * b + 3] = w3;
    // 128-bit increment with carries (wrapping at 2^128 like the generator's table index).
    w0 = (w0 + 1) >>> 0;
    if (w0 === 0) {
      w1 = (w1 + 1) >>> 0;
      if (w1 === 0) {
        w2 = (w2 + 1) >>> 0;
        if (w2 === 0) w3 = (w3 + 1) >>> 0;
      }
    }
  }
}
