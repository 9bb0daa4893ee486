import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { boostTrees, boostedToOnnx } from '../../../../tools/model/boost.ts';
import { applicationsToCsv } from '../../../../tools/model/csv.ts';
import { predictEnsembleCodes } from '../../../../model/ensemble.ts';
import { predictCodes } from '../../../../model/infer.ts';
import { isEnsembleModel, loadAnyModel } from '../../../../model/private-model.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import { ROOT, train } from '../../../support/train-cli.ts';

describe('train CLI: --import-onnx and --score', () => {
  it('imports an ONNX ensemble, then scores applicants exactly as the loaded ensemble decides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-onnx-'));
    const boosted = boostTrees(generateApplications(3_000, 5), { trees: 5, maxDepth: 3 });
    writeFileSync(join(dir, 'bank.onnx'), boostedToOnnx(boosted, 'lightgbm'));
    const r = train([
      '--import-onnx',
      join(dir, 'bank.onnx'),
      '--out',
      join(dir, 'model'),
      '--threshold',
      '0.6',
      '--name',
      'Bank ensemble',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      source: string;
      fields: Record<string, string>;
      ensemble: { trees: number };
      circuit: { pbs: number };
    };
    expect(summary).toMatchObject({ source: 'onnx', ensemble: { trees: 5 } });
    expect(Object.values(summary.fields)).toContain('total_income');
    expect(summary.circuit.pbs).toBeGreaterThan(0);
    const model = await loadAnyModel(
      readFileSync(join(dir, 'model', 'manifest.json'), 'utf8'),
      readFileSync(join(dir, 'model', 'ensemble.json'), 'utf8'),
    );
    if (!isEnsembleModel(model)) throw new Error('an ensemble was expected');
    expect(model.manifest.name).toBe('Bank ensemble');
    expect(model.ensemble.training).toMatchObject({ source: 'onnx', threshold: 0.6, postTransform: 'LOGISTIC' });

    // Applicants without a Target column, as a bank would score them.
    const rows = generateApplications(300, 6);
    const csv = applicationsToCsv(rows)
      .replace(/,Target\n/, '\n')
      .replace(/,[01]\n/g, '\n');
    writeFileSync(join(dir, 'applicants.csv'), csv);
    const scored = train(['--score', join(dir, 'model'), '--input', join(dir, 'applicants.csv'), '--output', join(dir, 'out.csv')]);
    expect(scored.status, scored.stderr).toBe(0);
    const out = parse(readFileSync(join(dir, 'out.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(out).toHaveLength(rows.length);
    const want = rows.map((r) => String(predictEnsembleCodes(model.ensemble, quantizeParsed(model.manifest.inputs, r.features))));
    expect(out.map((r) => r['approved'])).toEqual(want);
    expect(new Set(want)).toEqual(new Set(['0', '1']));
  });

  it('scores with the demo tree too, to stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-score-'));
    const rows = generateApplications(50, 8);
    writeFileSync(join(dir, 'rows.csv'), applicationsToCsv(rows));
    const r = train(['--score', join(ROOT, 'model', 'artifacts'), '--input', join(dir, 'rows.csv')]);
    expect(r.status, r.stderr).toBe(0);
    const art = (name: string) => readFileSync(join(ROOT, 'model', 'artifacts', name), 'utf8');
    const model = await loadAnyModel(art('manifest.json'), art('tree.json'));
    if (isEnsembleModel(model)) throw new Error('a tree was expected');
    const out = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(out.map((x) => x['approved'])).toEqual(
      rows.map((x) => String(predictCodes(model.tree, quantizeParsed(model.manifest.inputs, x.features)))),
    );
  });

  it('takes a negative threshold (a regressor\u2019s raw score) as its own argument or after =', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-onnx-negative-'));
    writeFileSync(
      join(dir, 'reg.onnx'),
      boostedToOnnx(boostTrees(generateApplications(1_000, 10), { trees: 3, maxDepth: 2 }), 'regressor'),
    );
    for (const [i, threshold] of [['--threshold', '-0.2'], ['--threshold=-0.2']].entries()) {
      const out = join(dir, `m${i}`);
      const r = train(['--import-onnx', join(dir, 'reg.onnx'), '--out', out, ...threshold]);
      expect(r.status, r.stderr).toBe(0);
      const ensemble = JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')) as { training: { threshold: number } };
      expect(ensemble.training.threshold).toBe(-0.2);
    }
  });

  it('answers an unknown option or a missing value with a usage line and exit 2, not a stack trace', () => {
    for (const [args, message] of [
      [['--bogus'], "usage: Unknown option '--bogus'"],
      [['--score'], "usage: Option '--score <value>' argument missing"],
    ] as const) {
      const r = train([...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(message);
    }
  });

  it('refuses a truncated file and a bad field map with code: message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-onnx-bad-'));
    const bytes = boostedToOnnx(boostTrees(generateApplications(1_000, 9), { trees: 2, maxDepth: 2 }), 'xgboost');
    writeFileSync(join(dir, 'cut.onnx'), bytes.slice(0, bytes.length - 9));
    const cut = train(['--import-onnx', join(dir, 'cut.onnx'), '--out', join(dir, 'm')]);
    expect(cut.status).toBe(1);
    expect(cut.stderr).toMatch(/^invalid_onnx: /m);
    writeFileSync(join(dir, 'ok.onnx'), bytes);
    const map = train(['--import-onnx', join(dir, 'ok.onnx'), '--out', join(dir, 'm'), '--field-map', '["salary"]']);
    expect(map.status).toBe(1);
    expect(map.stderr).toMatch(/^unknown_field: column 0 maps to "salary"/m);
  });
});
