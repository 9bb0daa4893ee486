/**
 * Where the worker gets tfhe's wasm. The module build leaves it to tfhe's own
 * `new URL('tfhe_bg.wasm', import.meta.url)`, which the bundler emits as a separate asset fetched
 * only when the worker starts; the single-file build swaps this module for one that inflates an
 * embedded copy.
 */
import type { InitInput } from 'tfhe';

export async function tfheWasmSource(): Promise<InitInput | undefined> {
  return undefined;
}
