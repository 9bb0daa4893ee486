/**
 * The real stack for the browser suites' happy paths: the gateway in workerd (wrangler's dev
 * server, `tests/workerd/support/gateway.ts`) and the real evaluator process
 * (`tests/support/evaluator-process.ts`), on loopback ports of their own. The page reaches the
 * gateway cross-origin, as a bank's page would: the demo test tenant allows the runner's origin.
 *
 * Started on the first request for it (a run of files that do not need it pays nothing), each
 * start polled for readiness by its helper; stopped with the test runner's server.
 *
 * Under `/stack`: `GET /stack/gateway` (starting the stack) answers where the gateway is and the
 * publishable key to use; `GET /stack/applicants` the applicants the cleartext model picks, with
 * what the page must show for each.
 */
import type { Model } from '../../../model/private-model.ts';
import { expectedTexts, loadDemoModel, pickApplicants, pickNotEmployed, type Applicant } from '../../e2e/support/applicants.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from '../../workerd/support/evaluator.ts';
import { startGateway, type TestGateway } from '../../workerd/support/gateway.ts';
import { KEYS, testTenants } from '../../workerd/support/tenants.ts';
import type { ApplicantCase, ApplicantCases, RealGatewayInfo } from './real-stack-api.ts';
import type { KoaMiddleware } from './plugin.ts';

export const STACK_PREFIX = '/stack';

interface Stack {
  evaluator: EvaluatorProcess;
  gateway: TestGateway;
}

function applicantCases(model: Model): ApplicantCases {
  const picked = pickApplicants(model);
  const withTexts = (a: Applicant): ApplicantCase => ({ ...a, texts: expectedTexts(a.outcome, a.features.employed) });
  return {
    approved: withTexts(picked.approved),
    suggest: withTexts(picked.suggest),
    none: withTexts(picked.none),
    notEmployedSuggest: withTexts(pickNotEmployed(model, 'suggest')),
    notEmployedNone: withTexts(pickNotEmployed(model, 'none')),
  };
}

/** The runner's server settings a plugin's `serverStart` receives (the part used here). */
interface ServerStartArgs {
  config: { hostname: string; port: number };
}

/**
 * The stack's middleware, and a runner plugin that learns the origin the test pages are served
 * from (the demo tenant allows it) and stops the stack with the runner's server.
 */
export function realStack(): {
  middleware: KoaMiddleware;
  plugin: { name: string; serverStart(args: ServerStartArgs): void; serverStop(): Promise<void> };
} {
  let stack: Promise<Stack> | undefined;
  let cases: ApplicantCases | undefined;
  let pageOrigins: string[] = [];

  async function start(): Promise<Stack> {
    // Offline and quiet, as the workerd suites run wrangler: no telemetry, only its errors.
    process.env['WRANGLER_SEND_METRICS'] ??= 'false';
    process.env['WRANGLER_LOG'] ??= 'error';
    process.env['WRANGLER_CI_DISABLE_CONFIG_WATCHING'] ??= 'true';
    const port = await freePort();
    const evaluator = await startEvaluatorProcess(port);
    // The runner may end without stopping its server (a signal): the evaluator must not outlive it.
    process.once('exit', () => {
      try {
        process.kill(evaluator.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    try {
      const gateway = await startGateway({
        evaluatorUrl: evaluator.url,
        // Suites leave sessions behind on purpose (an element removed mid-check): room for them all.
        tenants: testTenants({ demo: { allowedOrigins: pageOrigins, activeSessions: { perTenant: 100, perIp: 100 } } }),
      });
      return { evaluator, gateway };
    } catch (e) {
      await evaluator.stop();
      throw e;
    }
  }

  const json = (ctx: Parameters<KoaMiddleware>[0], body: unknown, status = 200) => {
    ctx.respond = false;
    ctx.res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };

  const middleware: KoaMiddleware = async (ctx, next) => {
    if (ctx.path === `${STACK_PREFIX}/gateway`) {
      stack ??= start();
      try {
        const { gateway } = await stack;
        json(ctx, { url: gateway.url.origin, publishableKey: KEYS.demo.publishable } satisfies RealGatewayInfo);
      } catch (e) {
        json(ctx, { error: String(e) }, 500);
      }
      return;
    }
    if (ctx.path === `${STACK_PREFIX}/applicants`) {
      cases ??= applicantCases(await loadDemoModel());
      json(ctx, cases);
      return;
    }
    return next();
  };

  async function stop(): Promise<void> {
    if (!stack) return;
    const started = await stack.catch(() => undefined);
    if (!started) return;
    await started.gateway.dispose();
    await started.evaluator.stop();
  }

  return {
    middleware,
    plugin: {
      name: 'blind-score-real-stack',
      serverStart({ config }) {
        pageOrigins = [...new Set([config.hostname, 'localhost', '127.0.0.1'])].map((host) => `http://${host}:${config.port}`);
      },
      serverStop: stop,
    },
  };
}
