/**
 * Session identifiers and capability tokens: fresh randomness from `crypto.getRandomValues`,
 * base64url without padding, and token checks in constant time against a stored hash (the
 * gateway never stores a token itself).
 */
import { sha256Hex } from '../../../protocol/evaluator-api.ts';
import { timingSafeEqual } from '../platform.ts';

export { sha256Hex };

/** base64url (RFC 4648 §5) without padding. */
export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function randomBase64url(byteLength: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** 128 random bits: 22 characters. */
export function newSessionId(): string {
  return randomBase64url(16);
}

/** 256 random bits: 43 characters. */
export function newSessionToken(): string {
  return randomBase64url(32);
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Whether two hex digests are equal, in constant time. Tokens are compared through their
 * SHA-256, so the stored value is useless to whoever reads it and the compared lengths are fixed.
 */
export function digestsEqual(aHex: string, bHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(aHex) || !/^[0-9a-f]{64}$/.test(bHex)) return false;
  return timingSafeEqual(hexToBytes(aHex), hexToBytes(bHex));
}
