/**
 * `npm run bench`: runs every bench module and prints ONE JSON object, each module's figures
 * under its section key. A module exports `bench(): Promise<Record<string, unknown>>`; add yours
 * to SECTIONS. Timings on a shared machine are noisy: the output records the load average.
 */
import { cpus, loadavg } from 'node:os';

const SECTIONS: ReadonlyArray<readonly [string, () => Promise<{ bench(): Promise<Record<string, unknown>> }>]> = [
  ['engine', () => import('../../evaluator/bench/engine.ts')],
  ['circuit', () => import('./circuit.ts')],
  ['widget', () => import('./widget.ts')],
  ['service', () => import('./service.ts')],
  ['e2e', () => import('./e2e.ts')],
];

async function main(): Promise<void> {
  const only = process.env.BENCH_SECTIONS?.split(',');
  const out: Record<string, unknown> = {
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadAverageAtStart: loadavg() },
  };
  for (const [name, load] of SECTIONS) {
    if (only && !only.includes(name)) continue;
    out[name] = await (await load()).bench();
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
