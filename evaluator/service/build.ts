/**
 * Production bundle of the evaluator: `evaluator/dist/main.js` plus one `<name>.js` per worker
 * entry, side by side (`circuit/worker-thread.ts` relies on that layout). Dependencies stay
 * external and come from `npm ci --omit=dev` in the image, so the bundle holds only BlindScore's
 * own code.
 *
 *   npm run evaluator:build
 */
import { build } from 'esbuild';
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
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildEvaluator();
  process.stdout.write(`evaluator bundle written to ${out}\n`);
}
