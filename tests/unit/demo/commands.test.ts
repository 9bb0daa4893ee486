/**
 * The `npm run party` command lines the demo bank backend prints: every value after `=`, so a
 * session id that begins with '-' (base64url) stays a value, and each value shell-quoted when it
 * needs it. The CLI reading both forms back: `tests/unit/party/cli.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { partyCommand, shellQuote } from '../../../demo/bank-backend/commands.ts';

describe('party command lines', () => {
  it('give every value after =, a dashed session id included', () => {
    const command = partyCommand({
      gatewayUrl: 'http://127.0.0.1:8787',
      sessionId: '-bcdefghijklmnopqrstuv',
      party: 'bank',
      keyFile: '/srv/keys/bank key',
      featuresFile: '/srv/sessions/-bcdefghijklmnopqrstuv/bank.json',
    });
    expect(command).toBe(
      "npm run party -- --gateway=http://127.0.0.1:8787 --session=-bcdefghijklmnopqrstuv --party=bank --party-key-file='/srv/keys/bank key' --features-file=/srv/sessions/-bcdefghijklmnopqrstuv/bank.json",
    );
  });

  it('quote what the shell would read otherwise', () => {
    expect(shellQuote('plain-./:@=')).toBe('plain-./:@=');
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
});
