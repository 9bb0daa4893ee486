/**
 * Starts a worker thread from a module next to the caller, both from TypeScript sources (tests,
 * `tsx`) and from the production bundle, where every worker entry is emitted as `<name>.js`
 * beside the main bundle (see `evaluator/service/build.ts`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * @param callerUrl the caller's `import.meta.url`
 * @param name the worker module's file name without extension, in the caller's folder
 */
export function spawnWorker(callerUrl: string, name: string): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl));
  // Sources: tsx's loader must be registered inside the worker (`execArgv: ['--import', 'tsx']`
  // does not reach a worker's entry on Node 20). Resolve tsx from here so any cwd works.
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import: { default: string } }> };
  const tsxApi = join(dirname(pkgPath), pkg.exports['./esm/api']!.import.default);
  return new Worker(
    "const { workerData } = require('node:worker_threads');" +
      'import(workerData.tsxApi).then((api) => api.tsImport(workerData.entry, workerData.entry));',
    { eval: true, workerData: { tsxApi: pathToFileURL(tsxApi).href, entry: new URL(`./${name}.ts`, callerUrl).href } },
  );
}
