/**
 * Configuration from the environment: defaults, and refusal naming each bad variable (never
 * echoing the secret).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../../evaluator/service/config.ts';

const SECRET = `${'x'.repeat(31)}Z`;

function issues(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => i.variable);
  }
  throw new Error('configuration was accepted');
}

describe('loadConfig', () => {
  it('applies defaults around the one required variable', () => {
    expect(loadConfig({ EVALUATOR_SHARED_SECRET: SECRET })).toMatchObject({
      host: '127.0.0.1',
      port: 8790,
      maxConcurrentRuns: 1,
      maxQueuedRuns: 32,
      sessionTtlMs: 1_800_000,
      memoryBudgetBytes: 4096 * 1024 * 1024,
      preexpandKeys: true,
      modelManifestPath: 'model/artifacts/manifest.json',
    });
  });

  it('names every bad variable and never prints the secret', () => {
    expect(issues({})).toEqual(['EVALUATOR_SHARED_SECRET']);
    const short = 'short-secret-value';
    try {
      loadConfig({ EVALUATOR_SHARED_SECRET: short });
    } catch (e) {
      expect((e as Error).message).toBe('invalid configuration: EVALUATOR_SHARED_SECRET: must be at least 32 bytes');
      expect((e as Error).message).not.toContain(short);
    }
    expect(
      issues({
        EVALUATOR_SHARED_SECRET: SECRET,
        EVALUATOR_PORT: '70000',
        EVALUATOR_HOST: 'example.com',
        EVALUATOR_POOL_SIZE: '0',
        EVALUATOR_MAX_CONCURRENT_RUNS: 'two',
        EVALUATOR_SESSION_TTL_SECONDS: '5',
        EVALUATOR_PREEXPAND_KEYS: 'maybe',
        EVALUATOR_LOG_LEVEL: 'loud',
      }).sort(),
    ).toEqual(
      [
        'EVALUATOR_HOST',
        'EVALUATOR_LOG_LEVEL',
        'EVALUATOR_MAX_CONCURRENT_RUNS',
        'EVALUATOR_POOL_SIZE',
        'EVALUATOR_PORT',
        'EVALUATOR_PREEXPAND_KEYS',
        'EVALUATOR_SESSION_TTL_SECONDS',
      ].sort(),
    );
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ EVALUATOR_SHARED_SECRET: SECRET, EVALUATOR_PORT: '' }).port).toBe(8790);
  });
});
