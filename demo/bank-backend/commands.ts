/**
 * The `npm run party` command lines that do by hand what the demo bank backend does for a
 * session: one per party, with the party's key and the party's own record each read from a file
 * only its owner can read (mode 0600), never on the command line, where `ps` and the shell
 * history would show them.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { ROOT } from '../options.ts';

export interface PartyCommandOptions {
  gatewayUrl: string;
  sessionId: string;
  party: 'bank' | 'bureau';
  /** The file holding the party's secret key. */
  keyFile: string;
  /** The file holding the party's raw values ({@link writeFeaturesFile}). */
  featuresFile: string;
}

/**
 * Writes a party's raw values for one session to `dir/<sessionId>/<party>.json` (mode 0600, its
 * directories 0700) and returns the path. `sessionId` must already be a checked session id.
 */
export async function writeFeaturesFile(
  dir: string,
  sessionId: string,
  party: PartyCommandOptions['party'],
  features: object,
): Promise<string> {
  const sessionDir = join(dir, sessionId);
  await mkdir(sessionDir, { recursive: true, mode: 0o700 });
  const file = join(sessionDir, `${party}.json`);
  await writeFile(file, `${JSON.stringify(features)}\n`, { mode: 0o600 });
  // `mode` applies only to a new file; a rewritten one keeps its own.
  await chmod(file, 0o600);
  return file;
}

/** POSIX shell single quoting: the text stays literal whatever it holds. */
export function shellQuote(text: string): string {
  return /^[\w./:@=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A path as typed from the repository root, where `npm run` is run. */
function fromRoot(path: string): string {
  const rel = relative(ROOT, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** The command line, to run from the repository root. */
export function partyCommand(o: PartyCommandOptions): string {
  const args = [
    ['--gateway', o.gatewayUrl],
    ['--session', o.sessionId],
    ['--party', o.party],
    ['--party-key-file', fromRoot(o.keyFile)],
    ['--features-file', fromRoot(o.featuresFile)],
  ];
  // `--flag=value`: a value may begin with '-' (session ids are base64url), which a separate
  // argument would make look like a flag.
  return ['npm run party --', ...args.map(([flag, value]) => `${flag}=${shellQuote(value!)}`)].join(' ');
}
