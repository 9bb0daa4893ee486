/**
 * Starts a worker thread from a module next to the caller, both from TypeScript sources (tests,
 * `tsx`) and from the production bundle, where every worker entry is emitted as `<name>.js`
 * beside the main bundle (see `evaluator/service/build.ts`).
 */
import { Worker } from 'node:worker_threads';

/**
 * @param callerUrl the caller's `import.meta.url`
 * @param name the worker module's file name without extension, in the caller's folder
 */
export function spawnWorker(callerUrl: string, name: string): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl));
  // Sources: register tsx's loader inside the worker, then load the TypeScript entry.
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  return new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  );
}
