/**
 * The `npm run party` command lines that do by hand what the demo bank backend does for a
 * session: one per party, with the party's key read from its file (never on the command line)
 * and the party's own record as the raw values.
 */
import { isAbsolute, relative } from 'node:path';
import { ROOT } from '../options.ts';

export interface PartyCommandOptions {
  gatewayUrl: string;
  sessionId: string;
  party: 'bank' | 'bureau';
  /** The file holding the party's secret key. */
  keyFile: string;
  /** The party's raw values, e.g. `{ account_age: 168 }`. */
  features: Record<string, unknown>;
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
    ['--features', JSON.stringify(o.features)],
  ];
  return ['npm run party --', ...args.map(([flag, value]) => `${flag} ${shellQuote(value!)}`)].join(' ');
}
