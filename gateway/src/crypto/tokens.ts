/**
 * Session identifiers and capability tokens: fresh randomness from `crypto.getRandomValues`,
 * base64url without padding, and token checks in constant time against a stored hash (the
 * gateway never stores a token itself).
 */
import { bytesToBase64url, hexToBytes } from '../../../protocol/bytes.ts';
import { timingSafeEqual } from '../platform.ts';

function randomBase64url(byteLength: number): string {
  return bytesToBase64url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** 128 random bits: 22 characters. */
export function newSessionId(): string {
  return randomBase64url(16);
}

/** 256 random bits: 43 characters. */
export function newSessionToken(): string {
  return randomBase64url(32);
}

/**
 * Whether two hex digests are equal, in constant time. Tokens are compared through their
 * SHA-256, so the stored value is useless to whoever reads it and the compared lengths are fixed.
 */
export function digestsEqual(aHex: string, bHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(aHex) || !/^[0-9a-f]{64}$/.test(bHex)) return false;
  return timingSafeEqual(hexToBytes(aHex), hexToBytes(bHex));
}
