/**
 * The whole local stack behind `npm start`, as a library so the end-to-end suite runs exactly
 * what a developer runs: the evaluator (Node, `evaluator/service/main.ts`), the gateway
 * (wrangler's dev server in `gateway-process.ts`: workerd with local Durable Objects and R2,
 * offline, no account) and the demo
 * bank site (vite build + preview) with the bank's backend routes (`bank-backend/`: the bank's
 * and the bureau's party uploads for applicant mode). Everything listens on 127.0.0.1 only.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PreviewServer } from 'vite';
import { bankBackend } from './bank-backend/app.ts';
import { loadRecords } from './bank-backend/records.ts';
import {
  demoTenant,
  newPartyKeys,
  newSharedSecret,
  partyKeyFiles,
  writeGatewayEnvFile,
  writePartyKeyFiles,
  type PartyKeys,
} from './gateway-config.ts';
import { OPTION_SOURCES, ROOT, type StackOptions } from './options.ts';
import { assertPortsFree, HOST } from './ports.ts';
import { httpProbe, ServiceProcess } from './service-process.ts';
import { buildSite, serveSite } from './site.ts';

/** Start-up of workerd or of the evaluator's worker pool can take a while on a busy machine. */
const READY_TIMEOUT_MS = 120_000;

export class StackClosedError extends Error {
  override readonly name = 'StackClosedError';
  constructor() {
    super('the stack was closed while starting');
  }
}

export class DemoStack {
  /** The demo bank page: the one URL a person opens. */
  readonly url: string;
  readonly gatewayUrl: string;
  readonly evaluatorUrl: string;
  readonly logDir: string;
  readonly evaluator: ServiceProcess;
  readonly gateway: ServiceProcess;
  private readonly persistDir: string;
  private readonly envFile: string;
  /** The files holding the bank's and the bureau's party keys (mode 0600), for `npm run party` by hand. */
  private readonly partyKeyFiles: Record<keyof PartyKeys, string>;
  private readonly partyKeyDir: string;
  /** The by-hand commands' raw values, one 0600 file per session and party. */
  private readonly featuresDir: string;
  private readonly sharedSecret = newSharedSecret();
  private readonly partyKeys = newPartyKeys();
  private server: PreviewServer | undefined;
  /** The local tenant's publishable key, for a page of your own (known once started). */
  publishableKey = '';
  private closing: Promise<void> | undefined;

  constructor(readonly options: StackOptions) {
    const { port, gatewayPort, evaluatorPort, runDir } = options;
    this.url = `http://${HOST}:${port}/`;
    this.gatewayUrl = `http://${HOST}:${gatewayPort}`;
    this.evaluatorUrl = `http://${HOST}:${evaluatorPort}`;
    this.logDir = join(runDir, 'logs');
    this.persistDir = join(runDir, 'gateway-state');
    this.envFile = join(runDir, 'gateway.env');
    this.partyKeyDir = join(runDir, 'party-keys');
    this.partyKeyFiles = partyKeyFiles(this.partyKeyDir);
    this.featuresDir = join(runDir, 'party-inputs');
    const echo = options.verbose ? process.stdout : undefined;

    this.evaluator = new ServiceProcess({
      name: 'evaluator',
      command: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'evaluator', 'service', 'main.ts')],
      cwd: ROOT,
      env: {
        ...process.env,
        EVALUATOR_HOST: HOST,
        EVALUATOR_PORT: String(evaluatorPort),
        EVALUATOR_SHARED_SECRET: this.sharedSecret,
      },
      logFile: join(this.logDir, 'evaluator.log'),
      probe: httpProbe(`${this.evaluatorUrl}/readyz`),
      readyTimeoutMs: READY_TIMEOUT_MS,
      // The evaluator gives running work its own grace period; past this it is killed.
      stopGraceMs: 30_000,
      echo,
    });

    this.gateway = new ServiceProcess({
      name: 'gateway',
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        join(ROOT, 'demo', 'gateway-process.ts'),
        '--port',
        String(gatewayPort),
        '--persist-to',
        this.persistDir,
        '--env-file',
        this.envFile,
      ],
      cwd: ROOT,
      env: {
        ...withoutSecrets(process.env),
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_LOG_PATH: join(this.logDir, 'wrangler'),
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
      logFile: join(this.logDir, 'gateway.log'),
      probe: httpProbe(`${this.gatewayUrl}/v1/openapi.json`),
      readyTimeoutMs: READY_TIMEOUT_MS,
      stopGraceMs: 10_000,
      echo,
    });
  }

  /**
   * Checks the ports, builds the page, starts the evaluator and the gateway, then serves the
   * page. On failure everything started is stopped again before the error is thrown.
   */
  async start(): Promise<void> {
    const { port, gatewayPort, evaluatorPort, runDir } = this.options;
    await assertPortsFree([
      { port, service: 'the demo page', howToChange: portOption('port') },
      { port: gatewayPort, service: 'the gateway', howToChange: portOption('gatewayPort') },
      { port: evaluatorPort, service: 'the evaluator', howToChange: portOption('evaluatorPort') },
    ]);
    mkdirSync(this.logDir, { recursive: true });
    mkdirSync(this.persistDir, { recursive: true });

    // `localhost` too: a person may type it, and the gateway checks the exact Origin.
    const origins = [`http://${HOST}:${port}`, `http://localhost:${port}`, ...this.options.allowOrigins];
    const { tenants, publishableKey } = demoTenant(origins, undefined, this.partyKeys);
    this.publishableKey = publishableKey;
    writeGatewayEnvFile(this.envFile, { evaluatorUrl: this.evaluatorUrl, sharedSecret: this.sharedSecret, tenants });
    writePartyKeyFiles(this.partyKeyDir, this.partyKeys);
    // The by-hand commands' values of earlier runs: their pages and checks are gone.
    rmSync(this.featuresDir, { recursive: true, force: true });
    const backend = bankBackend({
      gatewayUrl: this.gatewayUrl,
      partyKeys: this.partyKeys,
      partyKeyFiles: this.partyKeyFiles,
      featuresDir: this.featuresDir,
      records: loadRecords(),
    });
    const site = await buildSite(runDir, { gatewayUrl: this.gatewayUrl, publishableKey });
    try {
      this.throwIfClosed();
      const started = await Promise.allSettled([this.evaluator.start(), this.gateway.start()]);
      this.throwIfClosed();
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      this.server = await serveSite(site, port, this.gatewayUrl, backend);
      this.throwIfClosed();
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Stops the site, the gateway and the evaluator (also during `start()`); safe to call twice. */
  close(): Promise<void> {
    return (this.closing ??= this.stopAll());
  }

  /** Synchronous last resort (process exit): kill both service process groups. */
  killNow(): void {
    this.gateway.killNow();
    this.evaluator.killNow();
  }

  private throwIfClosed(): void {
    if (this.closing) throw new StackClosedError();
  }

  private async stopAll(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    await Promise.allSettled([this.gateway.stop(), this.evaluator.stop()]);
  }
}

/** Starts a {@link DemoStack}; resolves once the page is served. */
export async function startStack(options: StackOptions): Promise<DemoStack> {
  const stack = new DemoStack(options);
  await stack.start();
  return stack;
}

function portOption(key: 'port' | 'gatewayPort' | 'evaluatorPort'): string {
  return `${OPTION_SOURCES[key].flag} or ${OPTION_SOURCES[key].env}`;
}

/** wrangler gets its secret from the env file; it has no use for the evaluator's. */
function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { EVALUATOR_SHARED_SECRET: _secret, ...rest } = env;
  return rest;
}
