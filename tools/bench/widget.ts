/**
 * The `widget` section of `npm run bench`: builds both widget bundles and reports their sizes,
 * raw and gzip-compressed (level 9, what a CDN typically serves), then times in-page key
 * generation in Chromium (`keygen.ts`). The size target is the JS a bank's page loads for the
 * element, without tfhe's wasm: ≤ 60 kB gzip.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { benchKeygen } from './widget-keygen.ts';

const CONFIG = fileURLToPath(new URL('../../widget/vite.config.ts', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/widget', import.meta.url));
const TARGET_PAGE_JS_GZIP = 60 * 1000;

interface FileSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

function sizes(dir: string): FileSize[] {
  const out: FileSize[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push(...sizes(path));
      continue;
    }
    const data = readFileSync(path);
    out.push({ file: relative(DIST, path), bytes: data.byteLength, gzipBytes: gzipSync(data, { level: 9 }).byteLength });
  }
  return out;
}

const sum = (files: FileSize[], key: 'bytes' | 'gzipBytes') => files.reduce((n, f) => n + f[key], 0);

export async function bench(): Promise<Record<string, unknown>> {
  for (const mode of ['production', 'drop-in', 'react']) {
    await build({ configFile: CONFIG, mode, logLevel: 'silent' });
  }
  const module = sizes(join(DIST, 'module'));
  const entry = module.find((f) => f.file === join('module', 'blind-score.js'))!;
  const reactWrapper = module.find((f) => f.file === join('module', 'blind-score-react.js'))!;
  const workerJs = module.filter((f) => f !== entry && f !== reactWrapper && f.file.endsWith('.js'));
  const wasm = module.filter((f) => f.file.endsWith('.wasm'));
  const dropIn = sizes(join(DIST, 'drop-in'));
  return {
    command: 'npm run build:widget (module, drop-in and React wrapper builds), sizes of dist/widget/**',
    module: {
      files: module,
      pageJsGzipBytes: entry.gzipBytes,
      pageJsTargetGzipBytes: TARGET_PAGE_JS_GZIP,
      pageJsWithinTarget: entry.gzipBytes <= TARGET_PAGE_JS_GZIP,
      lazyWorkerJsGzipBytes: sum(workerJs, 'gzipBytes'),
      allJsWithoutWasmGzipBytes: entry.gzipBytes + sum(workerJs, 'gzipBytes'),
      reactWrapperGzipBytes: reactWrapper.gzipBytes,
      wasmBytes: sum(wasm, 'bytes'),
      wasmGzipBytes: sum(wasm, 'gzipBytes'),
    },
    dropIn: { files: dropIn, bytes: sum(dropIn, 'bytes'), gzipBytes: sum(dropIn, 'gzipBytes') },
    keygen: await benchKeygen(),
  };
}
