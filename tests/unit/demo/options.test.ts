/** `npm start`'s options: `--allow-origin` (repeatable, or the environment) and what it refuses. */
import { describe, expect, it } from 'vitest';
import { demoTenant } from '../../../demo/gateway-config.ts';
import { OptionsError, parseStackOptions } from '../../../demo/options.ts';

describe('npm start --allow-origin', () => {
  it('adds each origin given, repeated or from BLINDSCORE_ALLOW_ORIGINS, to the local tenant', () => {
    const flags = parseStackOptions(['--allow-origin', 'http://localhost:3000', '--allow-origin', 'https://bank.example'], {});
    expect(flags?.allowOrigins).toEqual(['http://localhost:3000', 'https://bank.example']);
    const env = parseStackOptions([], { BLINDSCORE_ALLOW_ORIGINS: 'http://localhost:3000  http://127.0.0.1:5173' });
    expect(env?.allowOrigins).toEqual(['http://localhost:3000', 'http://127.0.0.1:5173']);
    expect(parseStackOptions([], {})?.allowOrigins).toEqual([]);
    const { tenants } = demoTenant(flags!.allowOrigins);
    expect(tenants.find((t) => t.demo)?.allowedOrigins).toEqual(expect.arrayContaining(['http://localhost:3000', 'https://bank.example']));
  });

  it('refuses what is not an origin, naming the flag', () => {
    for (const bad of ['localhost:3000', 'http://localhost:3000/', 'https://bank.example/page', 'ftp://bank.example']) {
      expect(() => parseStackOptions(['--allow-origin', bad], {})).toThrow(OptionsError);
      expect(() => parseStackOptions(['--allow-origin', bad], {})).toThrow(
        /--allow-origin \(BLINDSCORE_ALLOW_ORIGINS\): .* is not an origin/,
      );
    }
  });
});
