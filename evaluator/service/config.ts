/**
 * Evaluator configuration, read once from environment variables and validated with zod. A bad
 * value stops the process before it listens, with a message naming the variable.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { SHARED_SECRET_MIN_BYTES } from '../../protocol/evaluator-api.ts';

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be an integer' })
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be ≥ ${min}` })
    .max(max, { error: `must be ≤ ${max}` });
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Every variable the evaluator reads, with its default. */
export const EvaluatorEnv = z.object({
  /** Interface to bind: loopback by default; `0.0.0.0` inside a container. */
  EVALUATOR_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address or localhost' })
    .default('127.0.0.1'),
  /** TCP port; 0 picks a free one (tests). */
  EVALUATOR_PORT: int(0, 65_535).default(8790),
  /** HMAC key shared with the gateway (UTF-8, at least 32 bytes). */
  EVALUATOR_SHARED_SECRET: z.string({ error: 'is required' }).refine((s) => new TextEncoder().encode(s).length >= SHARED_SECRET_MIN_BYTES, {
    message: `must be at least ${SHARED_SECRET_MIN_BYTES} bytes`,
  }),
  /** Worker threads that run bootstraps. */
  EVALUATOR_POOL_SIZE: int(1, 256).default(availableParallelism()),
  /** Runs executed at the same time (each uses the whole pool). */
  EVALUATOR_MAX_CONCURRENT_RUNS: int(1, 64).default(1),
  /** Runs waiting for a slot; past it, `POST …/run` gets 503 `queue_full`. */
  EVALUATOR_MAX_QUEUED_RUNS: int(0, 10_000).default(32),
  /** Lifetime of a session from its creation. */
  EVALUATOR_SESSION_TTL_SECONDS: int(10, 24 * 3600).default(1800),
  /** Memory for session data: compressed keys, expanded keys, ciphertexts. */
  EVALUATOR_MEMORY_BUDGET_MB: int(64, 1_048_576).default(4096),
  /** Expand a session's server key as soon as it arrives, so the run starts warm. */
  EVALUATOR_PREEXPAND_KEYS: bool.default(true),
  /** How long in-flight runs may finish after SIGTERM before they are failed. */
  EVALUATOR_SHUTDOWN_GRACE_SECONDS: int(0, 3600).default(25),
  /** The model artifacts: public manifest and private tree. */
  EVALUATOR_MODEL_MANIFEST: z.string().min(1).default('model/artifacts/manifest.json'),
  EVALUATOR_MODEL_TREE: z.string().min(1).default('model/artifacts/tree.json'),
  EVALUATOR_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** The validated configuration, in the units the code uses. */
export interface EvaluatorConfig {
  host: string;
  port: number;
  sharedSecret: string;
  poolSize: number;
  maxConcurrentRuns: number;
  maxQueuedRuns: number;
  sessionTtlMs: number;
  memoryBudgetBytes: number;
  preexpandKeys: boolean;
  shutdownGraceMs: number;
  modelManifestPath: string;
  modelTreePath: string;
  logLevel: z.infer<typeof EvaluatorEnv>['EVALUATOR_LOG_LEVEL'];
}

/** Thrown by {@link loadConfig}; `message` names every offending variable, never its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly { variable: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
  }
}

/** Reads and validates the configuration (from `process.env` unless given another record). */
export function loadConfig(env: Record<string, string | undefined> = process.env): EvaluatorConfig {
  // Empty strings mean "unset", as a blank line in an env file usually intends.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EvaluatorEnv.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '(environment)'),
        // zod messages describe the rule, not the value, so the secret never appears here.
        message: i.message,
      })),
    );
  }
  const e = parsed.data;
  return {
    host: e.EVALUATOR_HOST,
    port: e.EVALUATOR_PORT,
    sharedSecret: e.EVALUATOR_SHARED_SECRET,
    poolSize: e.EVALUATOR_POOL_SIZE,
    maxConcurrentRuns: e.EVALUATOR_MAX_CONCURRENT_RUNS,
    maxQueuedRuns: e.EVALUATOR_MAX_QUEUED_RUNS,
    sessionTtlMs: e.EVALUATOR_SESSION_TTL_SECONDS * 1000,
    memoryBudgetBytes: e.EVALUATOR_MEMORY_BUDGET_MB * 1024 * 1024,
    preexpandKeys: e.EVALUATOR_PREEXPAND_KEYS,
    shutdownGraceMs: e.EVALUATOR_SHUTDOWN_GRACE_SECONDS * 1000,
    modelManifestPath: e.EVALUATOR_MODEL_MANIFEST,
    modelTreePath: e.EVALUATOR_MODEL_TREE,
    logLevel: e.EVALUATOR_LOG_LEVEL,
  };
}
