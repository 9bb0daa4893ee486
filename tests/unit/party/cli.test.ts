/**
 * The party CLI's refusals, run as a real process: usage errors exit 2 with a `usage` JSON line
 * and the help text, SDK refusals exit 1 with the error's JSON on stderr, `--help` exits 0; the
 * raw values from a file or stdin without a warning, inline with one. The success path runs
 * against the real gateway in `tests/workerd/party-sdk.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SESSION = 'AAAAAAAAAAAAAAAAAAAAAA';

function cli(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'party', 'cli.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
    ...(input === undefined ? {} : { input }),
  });
  const lines = r.stderr.split('\n');
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    warnings: lines.filter((l) => l.startsWith('warning:')),
    error: () => JSON.parse(lines.find((l) => l.startsWith('{'))!) as { code: string; message: string },
  };
}

const base = ['--gateway', 'https://gateway.invalid', '--session', SESSION, '--party', 'bank', '--features', '{"account_age":1}'];

describe('party CLI', () => {
  it('prints the usage on --help', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('BLINDSCORE_PARTY_KEY');
  });

  it('exits 2 on usage errors, naming the problem', () => {
    const key = { BLINDSCORE_PARTY_KEY: 'pk_test_0123456789abcdef' };
    const cases: [string[], Record<string, string>, RegExp][] = [
      [base.slice(2), key, /--gateway is required/],
      [[...base.slice(0, 5), 'lender', ...base.slice(6)], key, /--party must be one of/],
      [[...base.slice(0, 6)], key, /exactly one of --features/],
      [[...base.slice(0, 7), '{not json'], key, /--features is not JSON/],
      [base, {}, /BLINDSCORE_PARTY_KEY/],
      [[...base, '--wait', 'soon'], key, /--wait/],
      [[...base, '--manifest', '/nonexistent/manifest.json'], key, /cannot read manifest/],
      [[...base, '--bogus'], key, /bogus/],
    ];
    for (const [args, env, message] of cases) {
      const r = cli(args, env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.error()).toMatchObject({ code: 'usage' });
      expect(r.error().message).toMatch(message);
      expect(r.stderr).toContain('Usage:');
    }
  });

  it('exits 1 with the SDK\u2019s error JSON, never echoing the party key', () => {
    const secret = 'pk_test_secret_do_not_print_0123';
    const insecure = cli(['--gateway', 'http://gateway.example.com', ...base.slice(2)], { BLINDSCORE_PARTY_KEY: secret });
    expect(insecure.status).toBe(1);
    expect(insecure.error().code).toBe('insecure_gateway_url');
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-party-'));
    writeFileSync(join(dir, 'key'), `${secret}\n`);
    const unreachable = cli(['--gateway', 'http://127.0.0.1:9', ...base.slice(2), '--party-key-file', join(dir, 'key')]);
    expect(unreachable.status).toBe(1);
    expect(unreachable.error().code).toBe('network');
    for (const r of [insecure, unreachable]) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  describe('the raw values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-party-features-'));
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, 'pk_test_0123456789abcdef\n', { mode: 0o600 });
    // An unreachable gateway: exit 1 with `network` means the values were read and accepted.
    const unreachable = ['--gateway', 'http://127.0.0.1:9', '--session', SESSION, '--party', 'bank', '--party-key-file', keyFile];

    it('take a session id that begins with a dash, as its own argument or after =', () => {
      // Session ids are base64url: about one in 32 begins with '-', which parseArgs alone refuses.
      const dashed = `-${SESSION.slice(1)}`;
      const rest = ['--party', 'bank', '--party-key-file', keyFile, '--features', '{"account_age":26}'];
      for (const session of [['--session', dashed], [`--session=${dashed}`]]) {
        const r = cli(['--gateway', 'http://127.0.0.1:9', ...session, ...rest]);
        expect(r.status, r.stderr).toBe(1);
        expect(r.error().code).toBe('network');
      }
      // A flag where the value belongs is still refused, by name.
      const missing = cli(['--gateway', 'http://127.0.0.1:9', '--session', ...rest]);
      expect(missing.status).toBe(2);
      expect(missing.error().message).toMatch(/--session/);
    });

    it('come from a 0600 file or stdin without a warning', () => {
      const file = join(dir, 'bank.json');
      writeFileSync(file, '{"account_age":26}\n', { mode: 0o600 });
      for (const r of [
        cli([...unreachable, '--features-file', file]),
        cli([...unreachable, '--features-file', '-'], {}, '{"account_age":26}'),
      ]) {
        expect(r.status, r.stderr).toBe(1);
        expect(r.error().code).toBe('network');
        expect(r.warnings).toEqual([]);
      }
    });

    it('inline, or in a file others can read, work with a warning on stderr', () => {
      const inline = cli([...unreachable, '--features', '{"account_age":26}']);
      expect(inline.status).toBe(1);
      expect(inline.error().code).toBe('network');
      expect(inline.warnings).toHaveLength(1);
      expect(inline.warnings[0]).toMatch(/--features puts the raw values on the command line.*--features-file/);
      const open = join(dir, 'open.json');
      writeFileSync(open, '{"account_age":26}');
      chmodSync(open, 0o644);
      const shared = cli([...unreachable, '--features-file', open]);
      expect(shared.error().code).toBe('network');
      expect(shared.warnings).toEqual([`warning: features file ${open} is readable by other users (mode 644); chmod 600 it`]);
    });

    it('that are not JSON, or cannot be read, are usage errors', () => {
      const cases: [ReturnType<typeof cli>, RegExp][] = [
        [cli([...unreachable, '--features-file', '-'], {}, '{"account_age":'), /features file - is not JSON/],
        [cli([...unreachable, '--features-file', join(dir, 'missing.json')]), /cannot read features file/],
        [cli([...unreachable, '--features-file', '-', '--features', '{}']), /exactly one of --features/],
      ];
      for (const [r, message] of cases) {
        expect(r.status, r.stderr).toBe(2);
        expect(r.error()).toMatchObject({ code: 'usage' });
        expect(r.error().message).toMatch(message);
      }
    });

    it('the help recommends --features-file', () => {
      expect(cli(['--help']).stdout).toMatch(/Give the raw values with --features-file/);
    });
  });
});
