import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applicationsToCsv } from '../../../../tools/model/csv.ts';
import { loadModel } from '../../../../model/private-model.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import { approvalRate, scoreModel } from '../../../../tools/model/train.ts';
import { train } from '../../../support/train-cli.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'credit-tree.pmml');

describe('train CLI: --import-pmml', () => {
  it('writes the artifact and prints nodes, leaves, bootstrap counts and the accuracy on --csv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-import-'));
    const rows = generateApplications(600, 31);
    writeFileSync(join(dir, 'rows.csv'), applicationsToCsv(rows));
    const r = train(['--import-pmml', FIXTURE, '--out', join(dir, 'model'), '--csv', join(dir, 'rows.csv'), '--name', 'Bank tree 2026-11']);
    expect(r.status, r.stderr).toBe(0);
    // The bank's tree is written as it is, its breaches of the default policy said on stderr.
    expect(r.stderr).toMatch(/^constraint violated \(increasing, years_employed\): approval falls as years_employed rises: /m);
    const summary = JSON.parse(r.stdout) as Record<string, unknown> & { tree: { nodes: number; leaves: number }; circuit: { pbs: number } };
    const model = await loadModel(
      readFileSync(join(dir, 'model', 'manifest.json'), 'utf8'),
      readFileSync(join(dir, 'model', 'tree.json'), 'utf8'),
    );
    const metrics = { ...scoreModel(model.manifest.inputs, model.tree, rows), approvalRate: approvalRate(rows) };
    expect(summary).toMatchObject({
      modelVersion: model.manifest.modelVersion,
      source: 'pmml',
      fields: {
        Employed: 'employed',
        Total_income: 'total_income',
        Years_employed: 'years_employed',
        Account_age: 'account_age',
        Income_type: 'income_type',
        Occupation_type: 'occupation_type',
      },
      csvRows: 600,
      csv: { accuracy: metrics.accuracy, precision: metrics.precision, recall: metrics.recall },
      approvalRate: metrics.approvalRate,
      tree: { nodes: model.tree.nodes.length, leaves: (model.tree.nodes.length + 1) / 2 },
    });
    expect(summary.circuit.pbs).toBeGreaterThan(0);
    expect(model.tree.training).toMatchObject({ source: 'pmml', rows: 600, metrics });
    expect(model.manifest.name).toBe('Bank tree 2026-11');

    // --check rebuilds with the written file's salt: the same document is up to date, an edited one stale.
    const args = ['--out', join(dir, 'model'), '--csv', join(dir, 'rows.csv'), '--name', 'Bank tree 2026-11', '--check'];
    // Under the default policy the check fails on the breach; under the bank's own, it passes.
    const breach = train(['--import-pmml', FIXTURE, ...args]);
    expect(breach.status).toBe(1);
    expect(breach.stderr).toMatch(/constraint violated \(increasing, years_employed\)/);
    args.push('--increasing', 'total_income,account_age');
    const passed = train(['--import-pmml', FIXTURE, ...args]);
    expect(passed.status, passed.stderr).toBe(0);
    writeFileSync(join(dir, 'edited.pmml'), readFileSync(FIXTURE, 'utf8').replace('24.5', '36.5'));
    const stale = train(['--import-pmml', join(dir, 'edited.pmml'), ...args]);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/out of date: manifest\.json, tree\.json/);
  });

  it('exits 1 with the error code on a refused document, and asks for --out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blindscore-import-'));
    const renamed = readFileSync(FIXTURE, 'utf8').replaceAll('Account_age', 'Tenure_months');
    writeFileSync(join(dir, 'bank.pmml'), renamed);
    const refused = train(['--import-pmml', join(dir, 'bank.pmml'), '--out', join(dir, 'model')]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^unknown_field: .*"Tenure_months".*--field-map/);
    const mapped = train([
      '--import-pmml',
      join(dir, 'bank.pmml'),
      '--out',
      join(dir, 'model'),
      '--field-map',
      'Tenure_months=account_age',
    ]);
    expect(mapped.status, mapped.stderr).toBe(0);
    const noOut = train(['--import-pmml', FIXTURE]);
    expect(noOut.status).toBe(1);
    expect(noOut.stderr).toMatch(/--out/);
  });
});
