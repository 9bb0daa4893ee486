/**
 * Memory layout of the WebAssembly AES kernel (`aes-wasm-wat.ts`), shared by the WAT generator and
 * the loader (which must not import the generator: the browser loads only the assembled binary).
 */
export const AES_LAYOUT = { tables: 0, sbox: 4096, roundKeys: 4352, output: 8192, maxBlocks: 4096, pages: 2 } as const;
