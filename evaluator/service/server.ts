/**
 * Starts the evaluator: the service, its Hono app on `@hono/node-server`, and graceful shutdown.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { importSharedSecret, newBootId } from '../../protocol/evaluator-api.ts';
import { createApp } from './app.ts';
import type { EvaluationBackend } from './backend.ts';
import type { EvaluatorConfig } from './config.ts';
import { EvaluatorService } from './evaluator-service.ts';
import type { Logger } from './log.ts';

export interface RunningEvaluator {
  /** Base URL, e.g. `http://127.0.0.1:8790`. */
  url: string;
  /** This process's boot identity: every signed request must name it (drawn anew at each start). */
  bootId: string;
  port: number;
  service: EvaluatorService;
  /**
   * Graceful shutdown: stop accepting connections and work, let runs finish within the grace
   * period (then fail them), close progress streams, stop the worker pool.
   */
  close(): Promise<void>;
}

export interface StartOptions<K> {
  config: EvaluatorConfig;
  backend: EvaluationBackend<K>;
  log: Logger;
  /** Clock, for tests of expiry and the signature window. */
  now?: () => number;
}

export async function startEvaluator<K>({ config, backend, log, now }: StartOptions<K>): Promise<RunningEvaluator> {
  const service = new EvaluatorService<K>({ config, backend, log, ...(now ? { now } : {}) }) as EvaluatorService;
  const key = await importSharedSecret(config.sharedSecret);
  // Random per start, so signed requests captured before a restart (or sent to another instance) are refused.
  const bootId = newBootId();
  const app = createApp({ service, log, auth: { key, bootId, ...(now ? { now } : {}) } });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(s as Server));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  log.info({ url, bootId, model: service.model.modelVersion, paramSet: service.model.paramSet }, 'evaluator listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting connections; open ones (progress streams, uploads) finish below.
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await service.shutdown();
      server.closeAllConnections();
      await stopped;
      log.info('evaluator stopped');
    })());
  return { url, bootId, port, service, close };
}
