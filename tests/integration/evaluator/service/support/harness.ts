/**
 * Starts an evaluator in-process on a loopback port and talks to it over real HTTP with signed
 * requests, as the gateway does. Logs go to an in-memory sink so tests can check what is logged.
 */
import { Writable } from 'node:stream';
import { sha256Hex } from '../../../../../protocol/bytes.ts';
import { importSharedSecret, signEvaluatorRequest } from '../../../../../protocol/evaluator-api.ts';
import type { EvaluationBackend } from '../../../../../evaluator/service/backend.ts';
import { loadConfig, type EvaluatorConfig } from '../../../../../evaluator/service/config.ts';
import { createLogger, type Logger } from '../../../../../evaluator/service/log.ts';
import { startEvaluator, type RunningEvaluator } from '../../../../../evaluator/service/server.ts';

export const TEST_SECRET = 'test-shared-secret-0123456789abcdef-not-for-production';

/** Collects JSON log lines. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    cb();
  }
  get records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestEvaluator extends RunningEvaluator {
  logs: LogSink;
  /** Moves the evaluator's clock (TTL expiry, signature window) forward. */
  advanceClock(ms: number): void;
  request: (method: string, path: string, init?: SignedInit) => Promise<Response>;
}

export interface SignedInit {
  json?: unknown;
  bytes?: Uint8Array<ArrayBuffer>;
  contentType?: string;
  /** Replace or drop signature headers (auth tests). */
  headers?: Record<string, string | null>;
  /** Sign this hash instead of the body's. */
  signedSha256?: string;
}

/** Starts an evaluator; `backend` may be built from the evaluator's logger. */
export async function startTestEvaluator(
  backend: EvaluationBackend<unknown> | ((log: Logger) => EvaluationBackend<unknown>),
  env: Record<string, string> = {},
): Promise<TestEvaluator> {
  const config: EvaluatorConfig = loadConfig({
    EVALUATOR_SHARED_SECRET: TEST_SECRET,
    EVALUATOR_PORT: '0',
    EVALUATOR_POOL_SIZE: '1',
    EVALUATOR_LOG_LEVEL: 'debug',
    ...env,
  });
  const logs = new LogSink();
  let offset = 0;
  const log = createLogger(config.logLevel, logs);
  const running = await startEvaluator({
    config,
    backend: typeof backend === 'function' ? backend(log) : backend,
    log,
    now: () => Date.now() + offset,
  });
  const key = await importSharedSecret(TEST_SECRET);

  async function request(method: string, path: string, init: SignedInit = {}): Promise<Response> {
    const body = init.json !== undefined ? new TextEncoder().encode(JSON.stringify(init.json)) : init.bytes;
    const signed = await signEvaluatorRequest(key, {
      bootId: running.bootId,
      method,
      pathAndQuery: path,
      contentSha256: init.signedSha256 ?? (await sha256Hex(body ?? new Uint8Array(0))),
      nowSeconds: (Date.now() + offset) / 1000,
    });
    const headers: Record<string, string> = { ...signed };
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    if (init.contentType) headers['content-type'] = init.contentType;
    for (const [k, v] of Object.entries(init.headers ?? {})) {
      if (v === null) delete headers[k];
      else headers[k] = v;
    }
    return fetch(running.url + path, { method, headers, ...(body ? { body } : {}) });
  }

  return { ...running, logs, advanceClock: (ms) => void (offset += ms), request };
}
