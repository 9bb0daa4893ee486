/**
 * Starting the evaluator's worker threads (the bootstrap pool's and the key expander's) from
 * TypeScript sources (tsx, vitest) and from the production bundle alike. A bundle emits every
 * worker entry as `<name>.js` beside the module that starts it (see `evaluator/service/build.ts`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * The URL of the worker module `name` beside the caller: `<name>.ts` when the caller runs from
 * source, `<name>.js` when it was bundled.
 * @param callerUrl the caller's `import.meta.url`
 * @param name the worker module's file name without extension
 */
export function workerEntry(callerUrl: string, name: string): URL {
  return new URL(`./${name}.${new URL(callerUrl).pathname.endsWith('.ts') ? 'ts' : 'js'}`, callerUrl);
}

/**
 * Starts a worker thread on `entry`. A `.ts` entry is loaded through tsx's API inside the worker,
 * since `execArgv: ['--import', 'tsx']` does not reach a worker's entry module on Node 20; tsx
 * is resolved from here, so any working directory works.
 * @example
 * const worker = startWorker(workerEntry(import.meta.url, 'expand-worker'));
 */
export function startWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import: { default: string } }> };
  const tsxApi = pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api']!.import.default)).href;
  return new Worker(
    "const { workerData } = require('node:worker_threads');" +
      'import(workerData.tsxApi).then((api) => api.tsImport(workerData.entry, workerData.entry));',
    { eval: true, workerData: { tsxApi, entry: entry.href } },
  );
}
