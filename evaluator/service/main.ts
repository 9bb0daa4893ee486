/**
 * The evaluator process: validate the configuration (refuse to start, naming the variable, when
 * it is wrong), load the model and the worker pool, serve, and shut down gracefully on SIGTERM
 * or SIGINT (runs in flight get `EVALUATOR_SHUTDOWN_GRACE_SECONDS` to finish).
 */
import { createCircuitBackend } from './circuit-backend.ts';
import { ConfigError, loadConfig, type EvaluatorConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startEvaluator } from './server.ts';

function fatal(message: string, extra: Record<string, unknown> = {}): never {
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), service: 'blindscore-evaluator', msg: message, ...extra })}\n`,
  );
  process.exit(1);
}

let config: EvaluatorConfig;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) fatal(e.message, { variables: e.issues.map((i) => i.variable) });
  throw e;
}

const log = createLogger(config.logLevel);
let backend: Awaited<ReturnType<typeof createCircuitBackend>>;
try {
  backend = await createCircuitBackend(config, log);
} catch (e) {
  fatal(`cannot load the model: ${(e as Error).message}`, { manifest: config.modelManifestPath, tree: config.modelTreePath });
}
const evaluator = await startEvaluator({ config, backend, log });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'draining');
    evaluator.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: String(e) }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
