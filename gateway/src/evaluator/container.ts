/**
 * The evaluator as a Cloudflare Container (production only: `[env.production]` in wrangler.toml
 * binds it as `EVALUATOR` and builds the image from `evaluator/Dockerfile`). Local development
 * reaches a Node evaluator process through `EVALUATOR_URL` instead, because `wrangler dev` can
 * only run containers with a Docker engine.
 */
import { Container } from '@cloudflare/containers';
import type { Bindings } from '../env.ts';

/** The evaluator's listening port inside the image (`EXPOSE 8790` in evaluator/Dockerfile). */
export const EVALUATOR_CONTAINER_PORT = 8790;

export class EvaluatorContainer extends Container<Bindings> {
  override defaultPort = EVALUATOR_CONTAINER_PORT;
  /** Keys and ciphertexts live only in memory there: keep it up while sessions may still run. */
  override sleepAfter = '30m';
  /** The evaluator needs no internet; the gateway is its only caller. */
  override enableInternet = false;

  constructor(ctx: ConstructorParameters<typeof Container<Bindings>>[0], env: Bindings) {
    super(ctx, env);
    this.envVars = {
      EVALUATOR_HOST: '0.0.0.0',
      EVALUATOR_PORT: String(EVALUATOR_CONTAINER_PORT),
      EVALUATOR_SHARED_SECRET: env.EVALUATOR_SHARED_SECRET ?? '',
    };
  }
}
