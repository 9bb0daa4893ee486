/**
 * Two builds of the widget (`npm run build:widget` runs both):
 *
 * - `dist/widget/module/` (default mode): an ES module `blind-score.js`, its crypto worker as a
 *   separate chunk, and tfhe's wasm as a separate asset; the worker and the wasm are fetched only
 *   when an applicant starts a check.
 * - `dist/widget/drop-in/` (`--mode drop-in`): one file, `blind-score.js`, with the worker and
 *   the gzip-compressed wasm inside. It starts itself as the worker, so it works under a strict
 *   Content-Security-Policy (`script-src 'self' 'wasm-unsafe-eval'`, no `blob:`).
 * - `dist/widget/module/blind-score-react.js` (`--mode react`, after the module build): the React
 *   wrapper, importing `./blind-score.js` beside it and `react` from the host's bundle.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const tfheWasm = fileURLToPath(import.meta.resolve('tfhe/tfhe_bg.wasm'));

/** `virtual:tfhe-wasm-gzip-base64`: tfhe's wasm, gzipped and base64-encoded, as a string export. */
function inlineTfheWasm(): Plugin {
  const id = 'virtual:tfhe-wasm-gzip-base64';
  return {
    name: 'blind-score-inline-tfhe-wasm',
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load(resolved) {
      if (resolved !== `\0${id}`) return undefined;
      const gz = gzipSync(readFileSync(tfheWasm), { level: 9 });
      return `export default ${JSON.stringify(gz.toString('base64'))};`;
    },
  };
}

/**
 * tfhe's default `new URL('tfhe_bg.wasm', import.meta.url)` still emits the wasm file, but the
 * single-file build always passes the embedded bytes, so the copy is dropped from the output.
 */
function dropUnusedWasmAsset(): Plugin {
  return {
    name: 'blind-score-drop-unused-wasm',
    generateBundle(_options, bundle) {
      for (const name of Object.keys(bundle)) if (name.endsWith('.wasm')) delete bundle[name];
    },
  };
}

/** Swaps a module for its single-file variant (`x.ts` → `x.<variant>.ts`). */
function swapModule(from: string, to: string): Plugin {
  const source = here(from);
  const target = here(to);
  return {
    name: `blind-score-swap-${from}`,
    enforce: 'pre',
    async resolveId(spec, importer, options) {
      const resolved = await this.resolve(spec, importer, { ...options, skipSelf: true });
      return resolved?.id === source ? target : undefined;
    },
  };
}

/**
 * tfhe's thread-pool helper spawns workers of its own; the widget runs tfhe single-threaded (no
 * cross-origin isolation needed), so the helper is replaced by a stub that refuses to start.
 */
function noThreadPool(): Plugin {
  return {
    name: 'blind-score-no-thread-pool',
    enforce: 'pre',
    resolveId: (spec) => (spec.includes('wasm-bindgen-rayon') && spec.endsWith('workerHelpers.js') ? '\0no-thread-pool' : undefined),
    load: (id) =>
      id === '\0no-thread-pool'
        ? 'export function startWorkers() { throw new Error("<blind-score> runs tfhe without threads"); }'
        : undefined,
  };
}

/** The React wrapper imports the element's module build beside it, not a second copy. */
function elementBesideWrapper(): Plugin {
  const element = here('./src/blind-score.ts');
  return {
    name: 'blind-score-element-beside-wrapper',
    enforce: 'pre',
    async resolveId(spec, importer, options) {
      const resolved = await this.resolve(spec, importer, { ...options, skipSelf: true });
      return resolved?.id === element ? { id: './blind-score.js', external: true } : undefined;
    },
  };
}

/** `--mode react`: only the wrapper, added to the module build's directory. */
function reactWrapperBuild() {
  return defineConfig({
    root: here('.'),
    publicDir: false,
    logLevel: 'warn',
    plugins: [elementBesideWrapper()],
    build: {
      outDir: here('../dist/widget/module'),
      emptyOutDir: false,
      target: 'es2022',
      modulePreload: false,
      reportCompressedSize: false,
      rolldownOptions: {
        input: here('./src/react.ts'),
        external: ['react'],
        preserveEntrySignatures: 'strict',
        output: { format: 'es', entryFileNames: 'blind-score-react.js' },
      },
    },
  });
}

export default defineConfig(({ mode }) => {
  if (mode === 'react') return reactWrapperBuild();
  const dropIn = mode === 'drop-in';
  return {
    root: here('.'),
    publicDir: false,
    // Relative URLs: the worker and the wasm resolve next to blind-score.js wherever it is hosted.
    base: './',
    logLevel: 'warn',
    plugins: [
      noThreadPool(),
      ...(dropIn
        ? [
            inlineTfheWasm(),
            dropUnusedWasmAsset(),
            swapModule('./src/crypto/spawn-worker.ts', './src/crypto/spawn-worker.self.ts'),
            swapModule('./src/crypto/wasm-source.ts', './src/crypto/wasm-source.inline.ts'),
          ]
        : []),
    ],
    worker: { format: 'es', plugins: () => [noThreadPool()] },
    // A dev server must not pre-bundle tfhe: its wasm is found next to tfhe.js.
    optimizeDeps: { exclude: ['tfhe'] },
    build: {
      outDir: here(`../dist/widget/${dropIn ? 'drop-in' : 'module'}`),
      emptyOutDir: true,
      target: 'es2022',
      assetsInlineLimit: 0,
      modulePreload: false,
      reportCompressedSize: false,
      // The single file carries the compressed wasm on purpose.
      chunkSizeWarningLimit: dropIn ? 4096 : 500,
      rolldownOptions: {
        input: here(dropIn ? './src/drop-in.ts' : './src/blind-score.ts'),
        preserveEntrySignatures: 'strict',
        output: {
          format: 'es',
          entryFileNames: 'blind-score.js',
          chunkFileNames: '[name]-[hash].js',
          assetFileNames: '[name]-[hash][extname]',
          ...(dropIn ? { codeSplitting: false } : {}),
        },
      },
    },
  };
});
