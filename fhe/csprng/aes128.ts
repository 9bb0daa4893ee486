/**
 * AES-128 (FIPS-197) encryption in TypeScript, for the mask stream where no platform AES is
 * available synchronously (a browser worker: WebCrypto is asynchronous and has no ECB mode).
 *
 * Table-based ("T-table" formulation of FIPS-197 §5.1, Daemen–Rijmen, *The Design of Rijndael*
 * §4.2): one round is 16 table look-ups and XORs. Table look-ups index by key-dependent state, so
 * this implementation is only used where the key is public: tfhe-csprng's mask seeds are
 * published in the serialized key (`CompressionSeed`). Never use it for secrets.
 *
 * The keystream is tfhe-csprng's: block c of a seed is AES-128(seed, LE128(c)).
 */

/** S-box and the four round tables, built once from the field arithmetic (no pasted constants). */
const SBOX = new Uint8Array(256);
// Int32Array, not Uint32Array: V8 keeps int32 values in registers, while u32 values ≥ 2^31
// become doubles and make every round several times slower.
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);

function xtime(a: number): number {
  return ((a << 1) ^ (a & 0x80 ? 0x1b : 0)) & 0xff;
}

(function buildTables() {
  // Multiplicative inverse via log/antilog tables over generator 3, then the affine map.
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  let x = 1;
  for (let i = 0; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x ^= xtime(x);
  }
  for (let a = 0; a < 256; a++) {
    const inv = a === 0 ? 0 : exp[(255 - log[a]!) % 255]!;
    let s = inv;
    let r = inv;
    for (let k = 0; k < 4; k++) {
      r = ((r << 1) | (r >>> 7)) & 0xff;
      s ^= r;
    }
    SBOX[a] = s ^ 0x63;
  }
  for (let a = 0; a < 256; a++) {
    const s = SBOX[a]!;
    const s2 = xtime(s);
    const s3 = s2 ^ s;
    // Big-endian column word (2s, s, s, 3s): MixColumns of a column holding s in row 0.
    const t = (s2 << 24) | (s << 16) | (s << 8) | s3;
    T0[a] = t;
    T1[a] = (t >>> 8) | (t << 24);
    T2[a] = (t >>> 16) | (t << 16);
    T3[a] = (t >>> 24) | (t << 8);
  }
})();

/** The 44 big-endian round-key words of a 16-byte key (FIPS-197 §5.2), as int32. */
export function expandAes128Key(key: Uint8Array): Int32Array {
  if (key.length !== 16) throw new RangeError(`an AES-128 key has 16 bytes, got ${key.length}`);
  const w = new Int32Array(44);
  for (let i = 0; i < 4; i++) w[i] = (key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) | key[4 * i + 3]!;
  let rcon = 1;
  for (let i = 4; i < 44; i++) {
    let t = w[i - 1]!;
    if (i % 4 === 0) {
      t = ((SBOX[(t >>> 16) & 255]! << 24) | (SBOX[(t >>> 8) & 255]! << 16) | (SBOX[t & 255]! << 8) | SBOX[t >>> 24]!) ^ (rcon << 24);
      rcon = xtime(rcon);
    }
    w[i] = w[i - 4]! ^ t;
  }
  return w;
}

function bswap(v: number): number {
  return (v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

/**
 * Writes the keystream blocks `firstBlock … firstBlock+blocks−1` (counter blocks LE128(c), c below
 * 2^53) into `out` as little-endian u32 words: 4 per block, starting at `out[outIndex]`. Read as
 * u32 pairs these are the stream's u64 words, 2 per block.
 */
export function aes128CounterBlocks(roundKeys: Int32Array, firstBlock: number, blocks: number, out: Uint32Array, outIndex: number): void {
  const rk = roundKeys;
  const k0 = rk[0]!;
  const k1 = rk[1]!;
  const k2 = rk[2]!;
  const k3 = rk[3]!;
  for (let b = 0; b < blocks; b++) {
    const c = firstBlock + b;
    const cLo = c | 0;
    const cHi = Math.floor(c / 4294967296) | 0;
    // Plaintext bytes are LE128(c); the T-table state holds big-endian column words.
    let s0 = bswap(cLo) ^ k0;
    let s1 = bswap(cHi) ^ k1;
    let s2 = k2;
    let s3 = k3;
    let r = 4;
    for (let round = 1; round < 10; round++) {
      const t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 255]! ^ T2[(s2 >>> 8) & 255]! ^ T3[s3 & 255]! ^ rk[r]!;
      const t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 255]! ^ T2[(s3 >>> 8) & 255]! ^ T3[s0 & 255]! ^ rk[r + 1]!;
      const t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 255]! ^ T2[(s0 >>> 8) & 255]! ^ T3[s1 & 255]! ^ rk[r + 2]!;
      const t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 255]! ^ T2[(s1 >>> 8) & 255]! ^ T3[s2 & 255]! ^ rk[r + 3]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      r += 4;
    }
    // Final round: SubBytes, ShiftRows, AddRoundKey (no MixColumns).
    const o0 = ((SBOX[s0 >>> 24]! << 24) | (SBOX[(s1 >>> 16) & 255]! << 16) | (SBOX[(s2 >>> 8) & 255]! << 8) | SBOX[s3 & 255]!) ^ rk[40]!;
    const o1 = ((SBOX[s1 >>> 24]! << 24) | (SBOX[(s2 >>> 16) & 255]! << 16) | (SBOX[(s3 >>> 8) & 255]! << 8) | SBOX[s0 & 255]!) ^ rk[41]!;
    const o2 = ((SBOX[s2 >>> 24]! << 24) | (SBOX[(s3 >>> 16) & 255]! << 16) | (SBOX[(s0 >>> 8) & 255]! << 8) | SBOX[s1 & 255]!) ^ rk[42]!;
    const o3 = ((SBOX[s3 >>> 24]! << 24) | (SBOX[(s0 >>> 16) & 255]! << 16) | (SBOX[(s1 >>> 8) & 255]! << 8) | SBOX[s2 & 255]!) ^ rk[43]!;
    const o = outIndex + 4 * b;
    out[o] = bswap(o0);
    out[o + 1] = bswap(o1);
    out[o + 2] = bswap(o2);
    out[o + 3] = bswap(o3);
  }
}

/**
 * The round tables and S-box for a little-endian column state (row 0 in the low byte), as the
 * WebAssembly kernel uses them: T0…T3 (256 words each, in order) then the S-box (256 bytes).
 */
export function aesTablesLittleEndian(): { tables: Uint32Array; sbox: Uint8Array } {
  const tables = new Uint32Array(1024);
  [T0, T1, T2, T3].forEach((t, i) => {
    for (let a = 0; a < 256; a++) tables[256 * i + a] = bswap(t[a]!) >>> 0;
  });
  return { tables, sbox: SBOX.slice() };
}
