/**
 * WebAssembly text of the AES-128 counter-block kernel (the same T-table algorithm as
 * `aes128.ts`, ~2–3× faster than it in V8): for counters c = first … first+blocks−1 it writes
 * AES-128(key, LE128(c)) to the output area, 16 bytes per block, which read as little-endian
 * u64 words are tfhe-csprng's mask words (2 per block).
 *
 * The state is kept as little-endian column words (row r of a column in bits 8r…8r+7), so the
 * counter block loads and the keystream stores need no byte swapping: with row-0 bytes low, the
 * FIPS-197 round is t_j = T0[row0(s_j)] ⊕ T1[row1(s_{j+1})] ⊕ T2[row2(s_{j+2})] ⊕ T3[row3(s_{j+3})] ⊕ rk.
 *
 * Memory (the module's own, 2 pages): T0…T3 at 0, 1024, 2048, 3072 (u32 each), the S-box at 4096
 * (bytes), the 44 round-key words at 4352, the output at 8192 (up to 4096 blocks). Table indexes
 * depend on the key: only for public keys (mask seeds are published in the serialized key).
 *
 * `npm run keygen:wasm` assembles it into `aes-wasm-binary.ts` (needs the dev dependency wabt).
 */
import { AES_LAYOUT } from './aes-wasm-layout.ts';

function tableIndex(s: string, row: number): string {
  // ((s >> 8·row) & 255) · 4, as one shift and one mask.
  const shift = 8 * row - 2;
  const shifted = shift < 0 ? `(i32.shl (local.get ${s}) (i32.const 2))` : `(i32.shr_u (local.get ${s}) (i32.const ${shift}))`;
  return `(i32.and ${shifted} (i32.const 1020))`;
}

function byteIndex(s: string, row: number): string {
  return row === 0
    ? `(i32.and (local.get ${s}) (i32.const 255))`
    : `(i32.and (i32.shr_u (local.get ${s}) (i32.const ${8 * row})) (i32.const 255))`;
}

function roundKey(word: number): string {
  return `(i32.load offset=${AES_LAYOUT.roundKeys + 4 * word} (i32.const 0))`;
}

/** One full round of the state $<x>0…3 through temporaries $<t>0…3. */
function round(r: number, x: string, t: string): string {
  const s = [0, 1, 2, 3].map((j) => `$${x}${j}`);
  const lines: string[] = [];
  for (let j = 0; j < 4; j++) {
    const terms = [0, 1, 2, 3].map((row) => `(i32.load offset=${1024 * row} ${tableIndex(s[(j + row) % 4]!, row)})`);
    lines.push(
      `(local.set $${t}${j} (i32.xor (i32.xor (i32.xor ${terms[0]} ${terms[1]}) (i32.xor ${terms[2]} ${terms[3]})) ${roundKey(4 * r + j)}))`,
    );
  }
  for (let j = 0; j < 4; j++) lines.push(`(local.set ${s[j]} (local.get $${t}${j}))`);
  return lines.join('\n        ');
}

/** The last round of state $<x>0…3, stored `at` bytes after $out. */
function finalRound(x: string, at: number): string {
  const s = [0, 1, 2, 3].map((j) => `$${x}${j}`);
  const lines: string[] = [];
  for (let j = 0; j < 4; j++) {
    const bytes = [0, 1, 2, 3].map((row) => {
      const b = `(i32.load8_u offset=${AES_LAYOUT.sbox} ${byteIndex(s[(j + row) % 4]!, row)})`;
      return row === 0 ? b : `(i32.shl ${b} (i32.const ${8 * row}))`;
    });
    lines.push(
      `(i32.store offset=${AES_LAYOUT.output + at + 4 * j} (local.get $out) (i32.xor (i32.or (i32.or ${bytes[0]} ${bytes[1]}) (i32.or ${bytes[2]} ${bytes[3]})) ${roundKey(40 + j)}))`,
    );
  }
  return lines.join('\n        ');
}

/** Initial AddRoundKey of counter block c (+ offset) into $<x>0…3. */
function load(x: string, offset: number): string {
  const c = offset === 0 ? '(local.get $c)' : `(i64.add (local.get $c) (i64.const ${offset}))`;
  return [
    `(local.set $${x}0 (i32.xor (i32.wrap_i64 ${c}) ${roundKey(0)}))`,
    `(local.set $${x}1 (i32.xor (i32.wrap_i64 (i64.shr_u ${c} (i64.const 32))) ${roundKey(1)}))`,
    `(local.set $${x}2 ${roundKey(2)})`,
    `(local.set $${x}3 ${roundKey(3)})`,
  ].join('\n        ');
}

export const AES_WAT = `(module
  (memory (export "memory") ${AES_LAYOUT.pages} ${AES_LAYOUT.pages})
  ;; ctr(firstLo, firstHi, blocks): keystream blocks first … first+blocks−1 at the output area.
  (func (export "ctr") (param $firstLo i32) (param $firstHi i32) (param $blocks i32)
    (local $c i64) (local $end i64) (local $out i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $t0 i32) (local $t1 i32) (local $t2 i32) (local $t3 i32)
    (local $u0 i32) (local $u1 i32) (local $u2 i32) (local $u3 i32)
    (local $v0 i32) (local $v1 i32) (local $v2 i32) (local $v3 i32)
    (local.set $c (i64.or (i64.extend_i32_u (local.get $firstLo)) (i64.shl (i64.extend_i32_u (local.get $firstHi)) (i64.const 32))))
    (local.set $end (i64.add (local.get $c) (i64.extend_i32_u (local.get $blocks))))
    (local.set $out (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $c) (local.get $end)))
        ;; Two blocks per pass (independent chains interleave in the CPU); an odd count
        ;; computes one block past the end, inside the output area.
        ${load('s', 0)}
        ${load('u', 1)}
        ${Array.from({ length: 9 }, (_, i) => `${round(i + 1, 's', 't')}\n        ${round(i + 1, 'u', 'v')}`).join('\n        ')}
        ${finalRound('s', 0)}
        ${finalRound('u', 16)}
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        (local.set $c (i64.add (local.get $c) (i64.const 2)))
        (br $next)))))
`;
