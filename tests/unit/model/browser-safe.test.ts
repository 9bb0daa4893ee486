import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every module a file imports, transitively, within the repository. */
function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) closure(join(dirname(file), spec), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('browser-safe model modules', () => {
  it('import no Node built-ins and no Node-only packages', () => {
    for (const entry of [
      'model/features.ts',
      'model/quantize.ts',
      'model/manifest.ts',
      'model/private-model.ts',
      'model/party-inputs.ts',
      'model/infer.ts',
      'model/ensemble.ts',
      'model/errors.ts',
      'tools/model/import-pmml.ts',
    ]) {
      const deps = [...closure(join(root, entry))];
      expect(deps, 'the scan follows imports').toContain('zod');
      expect(
        deps.filter((d) => d.startsWith('node:') || d === 'csv-parse/sync' || d === 'node-tfhe'),
        entry,
      ).toEqual([]);
    }
  });
});

describe('browser-safe key generation', () => {
  it('fhe/keygen and the widget’s crypto worker import no Node built-in, nothing of evaluator/, and use no Buffer', () => {
    for (const entry of ['fhe/keygen/index.ts', 'widget/src/crypto/crypto-worker-main.ts']) {
      const deps = [...closure(join(root, entry))];
      expect(deps, 'the scan follows imports').toContain(join(root, 'fhe/csprng/aes-wasm.ts'));
      expect(
        deps.filter((d) => d.startsWith('node:') || d === 'node-tfhe' || d.includes(`${join(root, 'evaluator')}/`)),
        entry,
      ).toEqual([]);
      const usesBuffer = deps.filter(
        (d) => d.startsWith(root) && /\bBuffer\.|\bprocess\.(?!getBuiltinModule)|\brequire\(/.test(readFileSync(d, 'utf8')),
      );
      expect(usesBuffer, entry).toEqual([]);
    }
  });
});
