/**
 * `npm start`: the evaluator, the gateway and the demo bank page on this machine, one URL
 * printed, Ctrl-C (SIGINT), SIGTERM or a closed terminal (SIGHUP) stops everything. If a service
 * dies on its own, the others are stopped and the end of its log is shown.
 */
import { relative } from 'node:path';
import { OptionsError, parseStackOptions, ROOT, USAGE } from './options.ts';
import { PortInUseError } from './ports.ts';
import { ServiceError } from './service-process.ts';
import { DemoStack, StackClosedError } from './stack.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line = '') => process.stderr.write(`${line}\n`);

let stack: DemoStack | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (stopping) {
    // A second Ctrl-C: do not wait for graceful shutdown.
    stack?.killNow();
    process.exit(130);
  }
  stopping = true;
  if (stack) {
    out('\nStopping BlindScore…');
    await stack.close();
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
// Whatever else ends this process, its service process groups must not outlive it.
process.on('exit', () => stack?.killNow());

async function main(): Promise<void> {
  let options: ReturnType<typeof parseStackOptions>;
  try {
    options = parseStackOptions(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof OptionsError) {
      err(e.message);
      process.exit(2);
    }
    throw e;
  }
  if (!options) {
    out(USAGE);
    return;
  }

  out('Starting BlindScore: building the demo page, starting the evaluator and the gateway…');
  stack = new DemoStack(options);
  try {
    await stack.start();
  } catch (e) {
    // Ctrl-C during start-up: stop() is already closing the stack and will exit.
    if (stopping || e instanceof StackClosedError) return;
    if (e instanceof PortInUseError) err(e.message);
    else if (e instanceof ServiceError) err(`${e.message}. Last lines of its log:\n${e.logTail}`);
    else err(`BlindScore could not start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }

  for (const service of [stack.evaluator, stack.gateway]) {
    service.onUnexpectedExit((code, signal) => {
      if (stopping) return;
      err(`\nThe ${service.spec.name} stopped unexpectedly (${signal ?? `exit code ${code}`}). Last lines of its log:`);
      err(service.logTail());
      void stop(1);
    });
  }

  out('');
  out(`  BlindScore demo bank: ${stack.url}`);
  out('');
  // What a page of one's own needs to embed the widget against this gateway.
  out(`Embedding in a page of your own: publishable-key="${stack.publishableKey}", gateway port ${options.gatewayPort}.`);
  out(
    options.allowOrigins.length > 0
      ? `Pages allowed besides the demo's: ${options.allowOrigins.join(', ')}.`
      : 'Allow its origin with: npm start -- --allow-origin <origin>',
  );
  out('');
  out(`Logs: ${relative(ROOT, stack.logDir) || stack.logDir}/. Press Ctrl-C to stop.`);
}

await main();
