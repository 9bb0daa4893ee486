/**
 * The Hono environment of the evaluator app: the variables middlewares set for routes.
 */
import type { Logger } from './log.ts';

export interface AppVariables {
  /** From `X-Request-Id` (the gateway's) or generated; echoed in responses and error bodies. */
  requestId: string;
  /** Child logger bound to this request's id. */
  log: Logger;
  /** The signed SHA-256 of the body; body readers compare the bytes they read against it. */
  contentSha256: string;
}

export interface AppEnv {
  Variables: AppVariables;
}
