/** Byte-level helpers for format tests (browser-safe: no Node imports). */

/** A copy of `bytes` with the little-endian integer at `offset` replaced by `value`. */
export function patched(bytes: Uint8Array, offset: number, value: bigint, width: 4 | 8 = 8): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  if (width === 8) view.setBigUint64(offset, value, true);
  else view.setUint32(offset, Number(value), true);
  return copy;
}
