/**
 * Bytes as text, for every tier: the one base64 codec (RFC 4648 §4, the standard alphabet,
 * padded: ciphertexts and compact lists travel in JSON bodies as base64), base64url for ids and
 * tokens, hex, and SHA-256 as hex (WebCrypto, in browsers, Workers and Node alike).
 *
 * Decoding is strict so that a string either is the canonical encoding of exactly one byte
 * string or is refused with a typed {@link Base64Error}: the length is a multiple of 4, `=` only
 * as the last one or two characters, and the bits a final partial group leaves unused are zero
 * (RFC 4648 §3.5). `atob` alone accepts unpadded input and non-zero pad bits, and throws an
 * untyped `DOMException` on the rest, which callers cannot tell from a bug. The schemas check
 * the same rule ({@link isCanonicalBase64}), so a body that passes them always decodes.
 *
 * Browser- and workerd-safe: no dependencies.
 */

/** A string that is not canonical padded base64: a stable `code` and where it goes wrong. */
export class Base64Error extends Error {
  override readonly name = 'Base64Error';
  readonly code = 'invalid_base64';

  constructor(
    message: string,
    /** Index of the first offending character (the length, for a bad length). */
    readonly offset: number,
  ) {
    super(message);
  }
}

export function isBase64Error(e: unknown): e is Base64Error {
  return e instanceof Base64Error;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Character code → 6-bit value, or -1. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** Why `s` is not canonical base64, or undefined when it is. Linear, no regular expression. */
function problem(s: string): Base64Error | undefined {
  if (s.length % 4 !== 0) return new Base64Error(`length ${s.length} is not a multiple of 4`, s.length);
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const end = s.length - pad;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || VALUE[c]! < 0) return new Base64Error(`character ${i} is not in the base64 alphabet`, i);
  }
  // The last data character's low bits that the padding leaves unused must be zero.
  if (pad > 0) {
    const last = VALUE[s.charCodeAt(end - 1)]!;
    const unused = pad === 2 ? 0b1111 : 0b11;
    if ((last & unused) !== 0) return new Base64Error('the bits before the padding are not zero (not canonical)', end - 1);
  }
  return undefined;
}

/** True when `s` is canonical padded base64 (the rule the schemas apply). */
export function isCanonicalBase64(s: string): boolean {
  return problem(s) === undefined;
}

/**
 * Decodes canonical padded base64.
 * @throws {Base64Error} anything else, with the offset of the first offending character.
 */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bad = problem(b64);
  if (bad) throw bad;
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((b64.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < b64.length; i += 4) {
    const a = VALUE[b64.charCodeAt(i)]!;
    const b = VALUE[b64.charCodeAt(i + 1)]!;
    // A padding character reads as -1; only its group's missing bytes are left unwritten.
    const c = Math.max(0, VALUE[b64.charCodeAt(i + 2)] ?? 0);
    const d = Math.max(0, VALUE[b64.charCodeAt(i + 3)] ?? 0);
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** The alphabet's character codes, for encoding straight into bytes. */
const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const PAD = '='.charCodeAt(0);
const asciiDecoder = new TextDecoder();

/**
 * Encodes bytes as canonical padded base64 (browsers, Workers and Node alike). Written as ASCII
 * bytes and decoded once: several times faster than building a binary string for `btoa`, which
 * matters for the ~16 kB result ciphertexts the evaluator encodes after every run.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ALPHABET_CODES[v >>> 18]!;
    out[o++] = ALPHABET_CODES[(v >>> 12) & 63]!;
    out[o++] = ALPHABET_CODES[(v >>> 6) & 63]!;
    out[o++] = ALPHABET_CODES[v & 63]!;
  }
  if (i < n) {
    // One or two bytes left: their bits, zero-filled, then one or two pad characters.
    const two = n - i === 2;
    const v = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    out[o++] = ALPHABET_CODES[v >>> 18]!;
    out[o++] = ALPHABET_CODES[(v >>> 12) & 63]!;
    out[o++] = two ? ALPHABET_CODES[(v >>> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return asciiDecoder.decode(out);
}

/** base64url (RFC 4648 §5) without padding: identifiers and tokens in URLs. */
export function bytesToBase64url(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** Lowercase hex of bytes (digests, nonces, MACs). */
export function bytesToHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (const b of view) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The bytes of an even-length hex string (the caller checks it is hex: digests are validated by their schemas). */
export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const utf8Encoder = new TextEncoder();

/** Lowercase hex SHA-256 (WebCrypto) of bytes or of a string's UTF-8, held in memory; streamed bodies hash incrementally instead. */
export async function sha256Hex(body: Uint8Array | string): Promise<string> {
  const bytes = typeof body === 'string' ? utf8Encoder.encode(body) : body;
  return bytesToHex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
