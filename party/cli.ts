/**
 * `npm run party -- …`: a party backend's command line. Prints the {@link SubmitReport} as JSON
 * on stdout (exit 0); on failure prints the error's `{ code, message, … }` JSON on stderr and
 * exits 1 (2 for usage errors). The party key comes from `BLINDSCORE_PARTY_KEY` or a file, never
 * from the command line, where other users of the machine could read it; for the same reason the
 * raw values should come from `--features-file` (a 0600 file, or `-` for stdin), and `--features`
 * warns on stderr.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Party } from '../protocol/ciphertexts.ts';
import { ModelError } from '../model/errors.ts';
import { parseManifest, type Manifest } from '../model/manifest.ts';
import { PartyError } from './errors.ts';
import { submitPartyInputs } from './submit.ts';

const USAGE = `Usage: npm run party -- --gateway <url> --session <id> --party <bank|bureau>
                     (--features-file <path|-> | --features '<json>')
                     [--party-key-file <path>] [--manifest <path>] [--wait <seconds>]

Encrypts the party's raw values under the session's compact public key and uploads them.
The secret party key is read from BLINDSCORE_PARTY_KEY, or from --party-key-file.
Give the raw values with --features-file: a file only you can read (chmod 600), or '-' to
pipe them on stdin. --features puts them on the command line, where every user of the
machine can read them (ps, /proc) and the shell history keeps them.

  --gateway         the gateway's base URL (https; http only for loopback)
  --session         the session id the applicant's page shares with the bank's backend
  --party           which party's inputs these are
  --features-file   the raw values as JSON, e.g. {"account_age": 14}, from a file ('-' reads stdin)
  --features        the same JSON inline (visible to other users: prefer --features-file)
  --party-key-file  file holding the party key (instead of BLINDSCORE_PARTY_KEY)
  --manifest        a local manifest.json to use instead of GET /v1/manifest
  --wait            seconds to wait for the applicant's public key (default 60)`;

const FEATURES_EXPOSED =
  'warning: --features puts the raw values on the command line, where other users of this machine can read them and the shell history keeps them; use --features-file <path> (mode 0600) or --features-file - (stdin)';

class UsageError extends Error {}

/** Warnings for stderr: the values were exposed, or their file is readable by others. */
function featuresWarnings(values: { features?: string | undefined; 'features-file'?: string | undefined }): string[] {
  if (values.features !== undefined) return [FEATURES_EXPOSED];
  const path = values['features-file'];
  if (path === undefined || path === '-') return [];
  const mode = statSync(path).mode & 0o777;
  return mode & 0o077 ? [`warning: features file ${path} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`] : [];
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

function readJsonFile(path: string, what: string): unknown {
  const text = readText(path, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} ${path} is not JSON`);
  }
}

function readManifest(path: string): Manifest {
  try {
    return parseManifest(readJsonFile(path, 'manifest'));
  } catch (e) {
    if (e instanceof ModelError) throw new UsageError(`manifest ${path}: ${e.message}`);
    throw e;
  }
}

const OPTIONS = {
  gateway: { type: 'string' },
  session: { type: 'string' },
  party: { type: 'string' },
  features: { type: 'string' },
  'features-file': { type: 'string' },
  'party-key-file': { type: 'string' },
  manifest: { type: 'string' },
  wait: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `--name value` → `--name=value` for our string options when the value is not one of our
 * flags: a session id may begin with '-' (ids are base64url), which `parseArgs` would otherwise
 * refuse as ambiguous. A flag where a value belongs is left alone, so `parseArgs` still names it.
 */
function joinOptionValues(argv: readonly string[]): string[] {
  const flags = new Set(Object.entries(OPTIONS).flatMap(([name, o]) => [`--${name}`, ...('short' in o ? [`-${o.short}`] : [])]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && OPTIONS[name as keyof typeof OPTIONS]?.type === 'string' && next !== undefined && !flags.has(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function parse(argv: string[]) {
  const { values } = parseArgs({ args: joinOptionValues(argv), strict: true, options: OPTIONS });
  if (values.help) return undefined;
  for (const required of ['gateway', 'session', 'party'] as const) {
    if (values[required] === undefined) throw new UsageError(`--${required} is required`);
  }
  const party = Party.safeParse(values.party);
  if (!party.success) throw new UsageError(`--party must be one of ${Party.options.join(', ')}`);
  if ((values.features === undefined) === (values['features-file'] === undefined)) {
    throw new UsageError('give the raw values with exactly one of --features and --features-file');
  }
  let features: unknown;
  if (values.features !== undefined) {
    try {
      features = JSON.parse(values.features);
    } catch {
      throw new UsageError('--features is not JSON');
    }
  } else {
    features = readJsonFile(values['features-file']!, 'features file');
  }
  const warnings = featuresWarnings(values);
  const keyFile = values['party-key-file'];
  const partyKey = (keyFile !== undefined ? readText(keyFile, 'party key file') : (process.env.BLINDSCORE_PARTY_KEY ?? '')).trim();
  if (partyKey === '') throw new UsageError('set BLINDSCORE_PARTY_KEY or give --party-key-file');
  const wait = values.wait === undefined ? 60 : Number(values.wait);
  if (!Number.isFinite(wait) || wait < 0 || wait > 3600) throw new UsageError('--wait must be a number of seconds in 0..3600');
  return {
    gatewayUrl: values.gateway!,
    sessionId: values.session!,
    party: party.data,
    features,
    partyKey,
    publicKeyWaitMs: wait * 1000,
    warnings,
    ...(values.manifest === undefined ? {} : { manifest: readManifest(values.manifest) }),
  };
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(process.argv.slice(2));
  } catch (e) {
    const message =
      e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (e as Error).message : undefined;
    if (message === undefined) throw e;
    process.stderr.write(`${JSON.stringify({ code: 'usage', message })}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { warnings, ...submit } = options;
  for (const warning of warnings) process.stderr.write(`${warning}\n`);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    const report = await submitPartyInputs({ ...submit, signal: controller.signal });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof PartyError)) throw e;
    process.stderr.write(`${JSON.stringify(e)}\n`);
    return 1;
  }
}

process.exitCode = await main();
