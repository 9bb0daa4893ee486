/**
 * Options of the demo stack (`npm start`): ports and working directories, from command-line
 * flags first, then environment variables, then defaults, validated with zod.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const ROOT = resolve(import.meta.dirname, '..');

const Port = z.coerce
  .number({ error: 'must be a port number' })
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be between 1 and 65535' })
  .max(65_535, { error: 'must be between 1 and 65535' });

/** A web origin as browsers send it: scheme, host and port only (`https://bank.example`, `http://localhost:3000`). */
const WebOrigin = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
    } catch {
      return false;
    }
  },
  { error: (issue) => `${String(issue.input)} is not an origin: scheme, host and port only, e.g. http://localhost:3000` },
);

export const StackOptions = z
  .object({
    /** The demo bank page. 4173 is one of the origins the development tenant allows out of the box. */
    port: Port.default(4173),
    /** `wrangler dev` (the gateway); the page calls it from the browser. */
    gatewayPort: Port.default(8787),
    /** The evaluator; only the gateway calls it. */
    evaluatorPort: Port.default(8790),
    /** Built page, gateway state (local Durable Objects and R2) and logs. */
    runDir: z
      .string()
      .min(1)
      .default(join(ROOT, 'demo', '.run')),
    /** Also print every service's log lines, prefixed with its name. */
    verbose: z.boolean().default(false),
    /** More origins the local tenant allows, e.g. a page of your own that embeds the widget. */
    allowOrigins: z.array(WebOrigin).default([]),
  })
  .strict()
  .superRefine((o, ctx) => {
    const seen = new Map<number, string>();
    for (const [name, port] of [
      ['port', o.port],
      ['gatewayPort', o.gatewayPort],
      ['evaluatorPort', o.evaluatorPort],
    ] as const) {
      const other = seen.get(port);
      if (other) ctx.addIssue({ code: 'custom', path: [name], message: `must differ from ${other} (both are ${port})` });
      seen.set(port, name);
    }
  });
export type StackOptions = z.output<typeof StackOptions>;
export type StackOptionsInput = z.input<typeof StackOptions>;

/** Where each option comes from on the command line and in the environment. */
export const OPTION_SOURCES = {
  port: { flag: '--port', env: 'BLINDSCORE_PORT' },
  gatewayPort: { flag: '--gateway-port', env: 'BLINDSCORE_GATEWAY_PORT' },
  evaluatorPort: { flag: '--evaluator-port', env: 'BLINDSCORE_EVALUATOR_PORT' },
  runDir: { flag: '--run-dir', env: 'BLINDSCORE_RUN_DIR' },
  verbose: { flag: '--verbose', env: 'BLINDSCORE_VERBOSE' },
  allowOrigins: { flag: '--allow-origin', env: 'BLINDSCORE_ALLOW_ORIGINS' },
} as const satisfies Record<keyof StackOptions, { flag: string; env: string }>;

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

export const USAGE = `Usage: npm start -- [options]

Starts the evaluator, the gateway (wrangler dev, local Durable Objects and R2) and the demo
bank page, all on 127.0.0.1. Ctrl-C stops everything.

Options (environment variable in brackets):
  --port <n>            demo page port, default 4173 [BLINDSCORE_PORT]
  --gateway-port <n>    gateway port, default 8787 [BLINDSCORE_GATEWAY_PORT]
  --evaluator-port <n>  evaluator port, default 8790 [BLINDSCORE_EVALUATOR_PORT]
  --run-dir <path>      built page, gateway state and logs, default demo/.run [BLINDSCORE_RUN_DIR]
  --verbose             also print the services' logs [BLINDSCORE_VERBOSE=1]
  --allow-origin <url>  also allow this page origin (repeatable), e.g. http://localhost:3000
                        [BLINDSCORE_ALLOW_ORIGINS, space-separated]
  --help                this text`;

/** Reads flags and environment variables; `null` when `--help` was asked for. */
export function parseStackOptions(argv: readonly string[], env: NodeJS.ProcessEnv): StackOptions | null {
  const config = {
    args: [...argv],
    options: {
      port: { type: 'string' },
      'gateway-port': { type: 'string' },
      'evaluator-port': { type: 'string' },
      'run-dir': { type: 'string' },
      verbose: { type: 'boolean' },
      'allow-origin': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    throw new OptionsError(`${(e as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return null;
  const envFlag = env[OPTION_SOURCES.verbose.env];
  const raw = {
    port: v.port ?? env[OPTION_SOURCES.port.env],
    gatewayPort: v['gateway-port'] ?? env[OPTION_SOURCES.gatewayPort.env],
    evaluatorPort: v['evaluator-port'] ?? env[OPTION_SOURCES.evaluatorPort.env],
    runDir: resolveIfSet(v['run-dir'] ?? env[OPTION_SOURCES.runDir.env]),
    verbose: v.verbose ?? (envFlag === undefined ? undefined : envFlag === '1' || envFlag === 'true'),
    allowOrigins: v['allow-origin'] ?? env[OPTION_SOURCES.allowOrigins.env]?.split(/\s+/).filter(Boolean),
  };
  return validateStackOptions(raw);
}

function resolveIfSet(path: string | undefined): string | undefined {
  return path ? resolve(path) : undefined;
}

/** Validates options given in code (tests) or read by {@link parseStackOptions}. */
export function validateStackOptions(input: Record<string, unknown>): StackOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined && value !== ''));
  const result = StackOptions.safeParse(defined);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path[0] as keyof StackOptions | undefined;
    const source = key ? OPTION_SOURCES[key] : undefined;
    return source ? `${source.flag} (${source.env}): ${issue.message}` : issue.message;
  });
  throw new OptionsError(`invalid options:\n  ${lines.join('\n  ')}`);
}
