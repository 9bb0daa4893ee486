/** Modules the single-file build generates (see `widget/vite.config.ts`). */
declare module 'virtual:tfhe-wasm-gzip-base64' {
  const gzipBase64: string;
  export default gzipBase64;
}
