/**
 * Production bundle of the evaluator: `evaluator/dist/main.js` plus one `<name>.js` per worker
 * entry, side by side (`circuit/worker-thread.ts` relies on that layout). Self-contained: the
 * few runtime dependencies the service imports (hono, @hono/node-server, pino, zod) are bundled
 * in, so the image carries no `node_modules` at all, and none of the repository's other
 * dependencies (tfhe, lit, …).
 *
 *   npm run evaluator:build
 */
import { build } from 'esbuild';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Every entry the service starts: the process itself and each worker thread. */
export const ENTRY_POINTS = {
  main: join(here, 'main.ts'),
  'expand-worker': join(here, 'keys', 'expand-worker.ts'),
  // The circuit's bootstrap pool loads `pbs-worker.js` beside the bundle (circuit/pool.ts).
  'pbs-worker': join(here, '..', 'circuit', 'pbs-worker.ts'),
};

export async function buildEvaluator(outdir = join(here, '..', 'dist')): Promise<string> {
  await build({
    entryPoints: ENTRY_POINTS,
    outdir,
    entryNames: '[name]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // CommonJS dependencies (pino) call `require` for Node's built-ins, which an ES module lacks.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    sourcemap: true,
    legalComments: 'external',
    logLevel: 'warning',
  });
  // The bundle is ES modules whatever directory it is copied to.
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildEvaluator();
  process.stdout.write(`evaluator bundle written to ${out}\n`);
}
