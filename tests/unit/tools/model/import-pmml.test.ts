/**
 * The PMML importer: trees written to PMML from our own models (the committed demo tree and a
 * deeper freshly trained one that splits on categories) import back to models that decide and
 * explain exactly as the originals on thousands of generated applicants, in cleartext and in the
 * compiled circuit's simulation; every refusal has its code and names the node or field.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCircuit } from '../../../../evaluator/circuit/compile.ts';
import { simulateCircuit } from '../../../../evaluator/circuit/simulate.ts';
import { ModelError } from '../../../../model/errors.ts';
import { nextDown, nextUp } from '../../../../tools/model/float.ts';
import { importPmmlModel, type ImportPmmlOptions } from '../../../../tools/model/import-pmml.ts';
import { explainCodes, predictCodes } from '../../../../model/infer.ts';
import { loadModel, serializeModelFile, type Model } from '../../../../model/private-model.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications, type LabeledApplication } from '../../../../tools/model/synthetic.ts';
import { DEFAULT_MODEL_NAME, approvalRate, scoreModel, trainModel } from '../../../../tools/model/train.ts';
import { modelToPmml } from './pmml-writer.ts';

const read = (name: string) => readFileSync(new URL(`../../../../model/artifacts/${name}`, import.meta.url), 'utf8');
const applicants = generateApplications(2_500, 20_261_124);

/** Decision and explanation bits of a model for every applicant. */
function outcomes(model: Model, rows: readonly LabeledApplication[]) {
  return rows.map((r) => {
    const codes = quantizeParsed(model.manifest.inputs, r.features);
    return explainCodes(model.tree, codes, model.manifest.explanation);
  });
}

async function refusal(xml: string, options: ImportPmmlOptions = {}): Promise<ModelError> {
  try {
    await importPmmlModel(xml, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error('expected the import to be refused');
}

describe('PMML import: round trips', () => {
  it('imports the demo tree (compact nodes, seed, snake_case and mapped field names) and decides and explains as it does', async () => {
    const original = await loadModel(read('manifest.json'), read('tree.json'));
    const xml = modelToPmml(original, { style: 'compact', names: { total_income: 'yearly_income', account_age: 'account_age' } });
    const { model, fields } = await importPmmlModel(xml, { fieldMap: { yearly_income: 'Total_income' } });

    expect(fields).toContainEqual({ field: 'yearly_income', feature: 'total_income' });
    expect(model.tree.nodes).toHaveLength(original.tree.nodes.length);
    expect(outcomes(model, applicants)).toEqual(outcomes(original, applicants));
    const decisions = outcomes(original, applicants).map((o) => o.decision);
    expect(new Set(decisions).size).toBe(2);

    // The cut points are exactly the tree's thresholds: the used subset of the trained cuts.
    for (const input of model.manifest.inputs) {
      const before = original.manifest.inputs.find((i) => i.name === input.name)!;
      if (input.quantizer.kind === 'thresholds' && before.quantizer.kind === 'thresholds') {
        const used = new Set(
          original.tree.nodes.flatMap((n) =>
            n.type === 'split' && n.input === input.name
              ? [before.quantizer.kind === 'thresholds' ? before.quantizer.cuts[n.threshold]! : NaN]
              : [],
          ),
        );
        expect(input.quantizer.cuts).toEqual([...used].sort((a, b) => a - b));
      }
    }
    expect(model.tree.training).toMatchObject({
      source: 'pmml',
      approveScore: '1',
      producer: 'BlindScore test writer 1',
      rows: 0,
      metrics: null,
    });

    // The public manifest names neither the document nor its origin; the record stays in the tree file.
    expect(model.manifest.name).toBe(DEFAULT_MODEL_NAME);
    expect(serializeModelFile(model.manifest)).not.toMatch(/pmml|BlindScore test writer|training/i);

    // Each import gets a fresh salt, so the public version confirms no guess of the tree; with
    // the same salt, the same bytes. The written files load with their version recomputed.
    const again = await importPmmlModel(xml, { fieldMap: { yearly_income: 'total_income' } });
    expect(again.model.tree.salt).not.toBe(model.tree.salt);
    expect(again.model.manifest.modelVersion).not.toBe(model.manifest.modelVersion);
    expect(serializeModelFile(again.model.manifest).replace(again.model.manifest.modelVersion, '')).toBe(
      serializeModelFile(model.manifest).replace(model.manifest.modelVersion, ''),
    );
    const resalted = await importPmmlModel(xml, { fieldMap: { yearly_income: 'total_income' }, salt: model.tree.salt });
    expect(serializeModelFile(resalted.model.tree)).toBe(serializeModelFile(model.tree));
    expect(resalted.model.manifest.modelVersion).toBe(model.manifest.modelVersion);
    const loaded = await loadModel(serializeModelFile(model.manifest), serializeModelFile(model.tree));
    expect(loaded.manifest.modelVersion).toBe(model.manifest.modelVersion);
  });

  it('imports a deeper tree with category splits (complementary predicates, class names, distributions only)', async () => {
    const { model: original } = await trainModel(generateApplications(8_000, 77), {
      maxDepth: 8,
      minSamplesLeaf: 8,
      source: { kind: 'csv' },
    });
    const categorical = original.tree.nodes.filter(
      (n) => n.type === 'split' && ['income_type', 'education_type', 'family_status', 'occupation_type', 'housing_type'].includes(n.input),
    );
    expect(categorical.length).toBeGreaterThan(0);
    const xml = modelToPmml(original, { style: 'explicit', classes: { approve: 'approved', deny: 'denied' }, distributionOnly: true });
    const rows = generateApplications(2_000, 5);
    const { model, metrics } = await importPmmlModel(xml, { approveScore: 'approved', evaluate: rows });

    expect(outcomes(model, applicants)).toEqual(outcomes(original, applicants));
    expect(metrics).toEqual({ ...scoreModel(original.manifest.inputs, original.tree, rows), approvalRate: approvalRate(rows) });
    expect(model.tree.training).toMatchObject({ source: 'pmml', approveScore: 'approved', rows: 2_000, metrics });
    expect(model.tree.nodes.length).toBeLessThanOrEqual(original.tree.nodes.length);

    // The circuit compiled from the imported model decides as the cleartext model.
    const plan = compileCircuit(model);
    for (const r of applicants.slice(0, 300)) {
      const codes = quantizeParsed(model.manifest.inputs, r.features);
      const expected = explainCodes(model.tree, codes, model.manifest.explanation);
      const simulated = simulateCircuit(plan, codes);
      expect({ decision: simulated.decision, bits: simulated.explanation }).toEqual(expected);
    }
  });
});

describe('PMML import: a JPMML-SkLearn-shaped document', () => {
  // Written by hand in JPMML-SkLearn's layout: float DataFields read through double() casts,
  // compacted multi-way nodes (first true child wins, a final <True/> child), one-hot categories
  // as equal predicates, a set split, and no noTrueChildStrategy (null prediction) anywhere.
  const xml = readFileSync(new URL('./fixtures/credit-tree.pmml', import.meta.url), 'utf8');
  const lowPaid = ['Cooking Staff', 'Factory Worker', 'Plumber'];
  /** The document's meaning, read off the XML by hand; float fields compare Math.fround(x). */
  function reference(f: LabeledApplication['features']): 0 | 1 {
    const income = Math.fround(f.total_income);
    if (!f.employed) return income <= 40000.30078125 ? 0 : 1;
    if (['0-2', '2-5'].includes(f.years_employed)) return f.income_type === 'Student' || f.account_age <= 24.5 ? 0 : 1;
    if (income <= 18250.299999999999) return lowPaid.includes(f.occupation_type) ? 0 : 1;
    return 1;
  }

  it('imports with the default approve score and decides as the document says', async () => {
    const { model, fields } = await importPmmlModel(xml);
    expect(fields.map((f) => f.feature)).toEqual([
      'employed',
      'total_income',
      'years_employed',
      'account_age',
      'income_type',
      'occupation_type',
    ]);
    expect(model.tree.training).toMatchObject({ source: 'pmml', producer: 'JPMML-SkLearn 1.7.2', approveScore: '1' });
    const probes = applicants.flatMap((a, i) => {
      // Push some incomes onto the thresholds' float32 neighbourhoods.
      const c = i % 3 === 0 ? 40000.30078125 : 18250.299999999999;
      const x = [c, Math.fround(c), nextUp(Math.fround(c)), nextDown(Math.fround(c))][i % 4]!;
      return [a.features, { ...a.features, total_income: x }];
    });
    const decisions = probes.map((f) => predictCodes(model.tree, quantizeParsed(model.manifest.inputs, f)));
    expect(decisions).toEqual(probes.map(reference));
    expect(new Set(decisions).size).toBe(2);
    // Years employed in bin order; occupation coded so the set split is one threshold.
    const byName = new Map(model.manifest.inputs.map((i) => [i.name, i.quantizer]));
    expect(byName.get('years_employed')).toEqual({
      kind: 'category',
      codes: { '0-2': 0, '2-5': 1, '5-8': 2, '8-11': 3, '11-18': 4, '18+': 5 },
    });
    const occupation = byName.get('occupation_type');
    expect(occupation?.kind === 'category' && new Set(Object.values(occupation.codes)).size).toBe(2);
  });
});

/** A minimal PMML document: `fields` are DataField lines, `tree` the root Node's content. */
function pmml(fields: string, tree: string, extra: { model?: string; strategy?: string; casts?: string } = {}): string {
  const names = [...fields.matchAll(/name="([^"]+)"/g)].map((m) => m[1]!).filter((n) => n !== 'Target');
  return `<?xml version="1.0"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.3">
  <DataDictionary>
    <DataField name="Target" optype="categorical" dataType="string"><Value value="0"/><Value value="1"/></DataField>
    ${fields}
  </DataDictionary>
  <TreeModel functionName="${extra.model ?? 'classification'}" noTrueChildStrategy="${extra.strategy ?? 'returnLastPrediction'}">
    <MiningSchema><MiningField name="Target" usageType="target"/>${names.map((n) => `<MiningField name="${n}"/>`).join('')}</MiningSchema>
    <LocalTransformations>${extra.casts ?? ''}</LocalTransformations>
    <Node id="root" score="0"><True/>
${tree}
    </Node>
  </TreeModel>
</PMML>`;
}

const continuous = (name: string) => `<DataField name="${name}" optype="continuous" dataType="double"/>`;
const occupation = '<DataField name="Occupation_type" optype="categorical" dataType="string"/>';
const leaf = (id: string, score: string, predicate: string) => `<Node id="${id}" score="${score}">${predicate}</Node>`;
const features = (over: Partial<LabeledApplication['features']>) => ({ ...applicants[0]!.features, ...over });

describe('PMML import: exact thresholds', () => {
  it('compares through a float cast exactly as Math.fround does, on both sides of every threshold', async () => {
    const thresholds = [27_500.3, 31_000.123456, 45_000.5];
    const tree = `<Node id="a" score="1"><SimplePredicate field="double(float(Total_income))" operator="lessOrEqual" value="${thresholds[0]}"/>
      ${leaf('a1', '0', `<SimplePredicate field="double(float(Total_income))" operator="greaterThan" value="${thresholds[1]}"/>`)}</Node>
      ${leaf('b', '1', `<SimplePredicate field="double(float(Total_income))" operator="lessThan" value="${thresholds[2]}"/>`)}`;
    const casts = `<DerivedField name="float(Total_income)" optype="continuous" dataType="float"><FieldRef field="Total_income"/></DerivedField>
      <DerivedField name="double(float(Total_income))" optype="continuous" dataType="double"><FieldRef field="float(Total_income)"/></DerivedField>`;
    const { model } = await importPmmlModel(pmml(continuous('Total_income'), tree, { casts }));
    const reference = (x: number) => {
      const f = Math.fround(x);
      if (f <= thresholds[0]!) return f > thresholds[1]! ? 0 : 1;
      return f < thresholds[2]! ? 1 : 0;
    };
    const probes = thresholds.flatMap((c) => {
      const f = Math.fround(c);
      const around = [c, f, (f + Math.fround(nextUp(f) + 1e-3)) / 2];
      return around.flatMap((x) => [x, nextUp(x), nextDown(x), nextUp(nextUp(x)), nextDown(nextDown(x))]);
    });
    for (const x of probes) {
      const codes = quantizeParsed(model.manifest.inputs, features({ total_income: x }));
      expect(predictCodes(model.tree, codes), `income ${x}`).toBe(reference(x));
    }
  });

  it('keeps lessOrEqual and lessThan apart on integers and decimals', async () => {
    const tree = `<Node id="a" score="1"><SimplePredicate field="Age" operator="lessOrEqual" value="30"/>
        ${leaf('a1', '0', '<SimplePredicate field="Total_income" operator="lessOrEqual" value="20000"/>')}</Node>
      ${leaf('b', '0', '<SimplePredicate field="Age" operator="lessThan" value="60"/>')}
      ${leaf('c', '1', '<True/>')}`;
    const { model } = await importPmmlModel(pmml(continuous('Age') + continuous('Total_income'), tree));
    const decide = (age: number, income: number) =>
      predictCodes(model.tree, quantizeParsed(model.manifest.inputs, features({ age, total_income: income })));
    expect([decide(30, 20_000), decide(30, nextUp(20_000)), decide(31, 0), decide(59, 0), decide(60, 0)]).toEqual([0, 1, 0, 0, 1]);
  });
});

describe('PMML import: compound predicates', () => {
  it('expands and / or / xor and decides a surrogate by its first operand, as the document says', async () => {
    const simple = (field: string, op: string, value: string | number) =>
      `<SimplePredicate field="${field}" operator="${op}" value="${value}"/>`;
    const compound = (op: string, ...operands: string[]) =>
      `<CompoundPredicate booleanOperator="${op}">${operands.join('')}</CompoundPredicate>`;
    const tree = [
      leaf('and', '0', compound('and', simple('Age', 'lessThan', 30), simple('Employed', 'equal', 0), '<True/>')),
      leaf(
        'or',
        '0',
        compound(
          'or',
          simple('Total_income', 'lessThan', 15000),
          compound('and', simple('Own_car', 'equal', 0), simple('Account_age', 'lessOrEqual', 12)),
        ),
      ),
      leaf('sur', '1', compound('surrogate', simple('Years_employed', 'greaterThan', 3.5), simple('Total_income', 'greaterThan', 1e6))),
      leaf(
        'xor',
        '0',
        compound(
          'xor',
          simple('Own_car', 'equal', 1),
          simple('Own_property', 'equal', 1),
          '<SimplePredicate field="Age" operator="isNotMissing"/>',
        ),
      ),
      leaf('rest', '1', '<True/>'),
    ].join('\n');
    const fields = ['Age', 'Employed', 'Total_income', 'Own_car', 'Account_age', 'Years_employed', 'Own_property'].map(continuous).join('');
    const { model } = await importPmmlModel(pmml(fields, tree));
    const reference = (f: LabeledApplication['features']): 0 | 1 => {
      if (f.age < 30 && !f.employed) return 0;
      if (f.total_income < 15000 || (!f.own_car && f.account_age <= 12)) return 0;
      if (['11-18', '18+'].includes(f.years_employed)) return 1; // bin index > 3.5
      // The xor of own_car, own_property and true holds when the two flags are equal.
      return f.own_car === f.own_property ? 0 : 1;
    };
    const decisions = applicants.map((a) => predictCodes(model.tree, quantizeParsed(model.manifest.inputs, a.features)));
    expect(decisions).toEqual(applicants.map((a) => reference(a.features)));
    expect(new Set(decisions).size).toBe(2);
  });
});

describe('PMML import: refusals name the place', () => {
  it('unknown field', async () => {
    const e = await refusal(
      pmml(continuous('Credit_score'), leaf('n1', '1', '<SimplePredicate field="Credit_score" operator="lessThan" value="600"/>')),
    );
    expect(e.code).toBe('unknown_field');
    expect(e.message).toMatch(/Credit_score.*--field-map/);
    // The field map maps it; a map to a non-feature is refused too.
    await expect(
      importPmmlModel(
        pmml(continuous('Credit_score'), leaf('n1', '1', '<SimplePredicate field="Credit_score" operator="lessThan" value="600"/>')),
        { fieldMap: { Credit_score: 'account_age' } },
      ),
    ).resolves.toBeDefined();
    expect((await refusal(pmml(continuous('Age'), leaf('n1', '1', '<True/>')), { fieldMap: { Age: 'credit' } })).code).toBe(
      'unknown_field',
    );
  });

  it('too many thresholds on one feature', async () => {
    const nodes = Array.from({ length: 16 }, (_, i) =>
      leaf(`t${i}`, String(i % 2), `<SimplePredicate field="Age" operator="lessThan" value="${20 + 3 * i}"/>`),
    ).join('\n');
    const e = await refusal(pmml(continuous('Age'), nodes));
    expect(e.code).toBe('too_many_thresholds');
    expect(e.message).toMatch(/^age \(field "Age"\): .*16 distinct thresholds.*Node "t7" and 8 more/);
    // Thresholds no applicant reaches (here: Age ≥ 40… under Age < 30) do not count.
    const dead = Array.from({ length: 16 }, (_, i) =>
      leaf(`d${i}`, '1', `<SimplePredicate field="Age" operator="greaterOrEqual" value="${40 + i}"/>`),
    ).join('');
    const young = `<Node id="young" score="0"><SimplePredicate field="Age" operator="lessThan" value="30"/>${dead}</Node>${leaf('old', '1', '<True/>')}`;
    const { model } = await importPmmlModel(pmml(continuous('Age'), young));
    expect(model.manifest.inputs.find((i) => i.name === 'age')?.quantizer).toEqual({ kind: 'thresholds', cuts: [30] });
    expect(model.tree.nodes).toHaveLength(3);
  });

  it('category splits: coded per reaching values, refused when two cross or too many groups', async () => {
    const set = (op: string, values: string) =>
      `<SimpleSetPredicate field="Occupation_type" booleanOperator="${op}"><Array type="string">${values}</Array></SimpleSetPredicate>`;
    const equal = (v: string) => `<SimplePredicate field="Occupation_type" operator="equal" value="${v}"/>`;
    // One-hot style chain: each test is a threshold among the values that reach it.
    const chain = `${leaf('e', '0', equal('Engineer'))}\n${leaf('d', '1', set('isIn', 'Doctor Engineer'))}\n${leaf('l', '0', set('isNotIn', 'Engineer Doctor Lawyer'))}\n${leaf('rest', '1', '<True/>')}`;
    const { model } = await importPmmlModel(pmml(occupation, chain));
    const decide = (o: string) =>
      predictCodes(model.tree, quantizeParsed(model.manifest.inputs, features({ occupation_type: o as never })));
    expect(['Engineer', 'Doctor', 'Lawyer', 'Nurse', 'Plumber'].map(decide)).toEqual([0, 1, 1, 0, 0]);

    // The same value sets in two branches each see every value: {Engineer, Doctor} and
    // {Office Worker, Doctor} cannot both be an end of one order.
    const branches = `<Node id="young"><SimplePredicate field="Age" operator="lessThan" value="30"/>${leaf('s1', '0', set('isIn', 'Engineer Doctor'))}${leaf('y', '1', '<True/>')}</Node>
      <Node id="old"><True/>${leaf('s2', '0', set('isIn', '"Office Worker" Doctor'))}${leaf('o', '1', '<True/>')}</Node>`;
    const e = await refusal(pmml(occupation + continuous('Age'), branches));
    expect(e.code).toBe('unrepresentable_split');
    expect(e.message).toMatch(/^occupation_type \(field "Occupation_type"\): .*Node "s1".*Node "s2"/);
    // Nested sets in two branches are fine: one order makes both an end.
    const nested = branches.replace('"Office Worker" Doctor', '"Office Worker" Doctor Engineer');
    await expect(importPmmlModel(pmml(occupation + continuous('Age'), nested))).resolves.toBeDefined();

    // Seventeen occupations told apart do not fit 4 bits.
    const many = [
      'Engineer',
      'Retired',
      'Teacher',
      'Entrepreneur',
      'Manager',
      'Salesperson',
      'Designer',
      'Consultant',
      'Doctor',
      'Student',
      'Lawyer',
      'Carpenter',
      'Architect',
      'Plumber',
      'Nurse',
      'Artist',
    ];
    const wide = many.map((o, i) => leaf(`o${i}`, String(i % 2), equal(o))).join('') + leaf('other', '1', '<True/>');
    const t = await refusal(pmml(occupation, wide));
    expect(t.code).toBe('too_many_thresholds');
    expect(t.message).toMatch(/^occupation_type .*17 groups/);

    // Years employed keeps its bin order: a middle bin alone is no threshold of all bins...
    const years = leaf('y1', '1', '<SimplePredicate field="Years_employed" operator="equal" value="2"/>');
    const ey = await refusal(pmml(continuous('Years_employed'), years));
    expect(ey.code).toBe('unrepresentable_split');
    expect(ey.message).toMatch(/^Node "y1".*bin order/);
    // ...but is one among the bins that reach it.
    const after = leaf('y0', '0', '<SimplePredicate field="Years_employed" operator="lessOrEqual" value="1"/>') + years;
    await expect(importPmmlModel(pmml(continuous('Years_employed'), after))).resolves.toBeDefined();
  });

  it('numeric equality: one threshold at the ends of an integer range, refused in the middle', async () => {
    const tree = (value: number) =>
      leaf('eq', '0', `<SimplePredicate field="Num_children" operator="equal" value="${value}"/>`) + leaf('all', '1', '<True/>');
    const { model } = await importPmmlModel(pmml(continuous('Num_children'), tree(0)));
    const decide = (n: number) => predictCodes(model.tree, quantizeParsed(model.manifest.inputs, features({ num_children: n })));
    expect([0, 1, 5].map(decide)).toEqual([0, 1, 1]);
    const e = await refusal(pmml(continuous('Num_children'), tree(3)));
    expect(e.code).toBe('unrepresentable_split');
    expect(e.message).toMatch(/^Node "eq": .*interval/);
  });

  it('malformed XML and documents that are not one TreeModel', async () => {
    const e = await refusal('<PMML version="4.4"><DataDictionary></PMML>');
    expect(e.code).toBe('invalid_pmml');
    expect(e.message).toMatch(/line 1, column \d+/);
    expect((await refusal('<PMML version="4.4"><DataDictionary/><MiningModel/></PMML>')).message).toMatch(/exactly one TreeModel/);
    const bad = await refusal(pmml(continuous('Age'), leaf('op', '1', '<SimplePredicate field="Age" operator="about" value="3"/>')));
    expect(bad.code).toBe('invalid_pmml');
    expect(bad.message).toContain('Node "op"');
    // A number's form without a double value (found by `npm run fuzz`: once a RangeError).
    for (const value of ['1e999', '-1e999']) {
      const huge = await refusal(
        pmml(
          continuous('Total_income'),
          leaf('inf', '1', `<SimplePredicate field="Total_income" operator="lessOrEqual" value="${value}"/>`),
        ),
      );
      expect([huge.code, huge.message]).toEqual([
        'invalid_pmml',
        `Node "inf": Total_income is compared with "${value}", which is out of range`,
      ]);
    }
  });

  it('hostile documents: deep nesting, huge sibling lists, long chains, entity bombs', async () => {
    const wrap = (tree: string) => pmml(continuous('Age'), tree);
    const never = '<Node score="0"><SimplePredicate field="Age" operator="lessThan" value="10"/></Node>';
    const deep = await refusal(wrap('<Node score="1"><True/>'.repeat(200) + '</Node>'.repeat(200)));
    expect([deep.code, deep.message]).toEqual(['unsupported_pmml', 'the document nests deeper than 100 elements']);
    const wide = await refusal(wrap(`<Node id="w" score="1"><True/>${never.repeat(65)}</Node>`));
    expect(wide.code).toBe('unsupported_pmml');
    expect(wide.message).toContain('Node "w": 65 child nodes');
    let chain = '<Node score="1"><True/></Node>';
    for (let d = 0; d < 90; d++) chain = `<Node score="0"><True/>${never.repeat(63)}${chain}</Node>`;
    expect((await refusal(wrap(chain))).code).toBe('unsupported_pmml');
    // DOCTYPE entities are not expanded, so an entity bomb stays one short unknown value.
    const bomb = `<!DOCTYPE PMML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>`;
    const set =
      '<Node id="b" score="1"><SimpleSetPredicate field="Occupation_type" booleanOperator="isIn"><Array type="string">&d;</Array></SimpleSetPredicate></Node>';
    const e = await refusal(bomb + pmml(occupation, set).replace('<?xml version="1.0"?>', ''));
    expect(e.code).toBe('unknown_value');
    expect(e.message).toMatch(/^Node "b": /);
    expect(e.message).not.toContain('aaaaaaaaaa');
  });

  it('a leaf without a score', async () => {
    const e = await refusal(
      pmml(continuous('Age'), '<Node id="quiet"><SimplePredicate field="Age" operator="lessThan" value="30"/></Node>'),
    );
    expect(e.code).toBe('missing_score');
    expect(e.message).toContain('Node "quiet"');
  });

  it('unknown values, a reachable null prediction, regression trees, an unknown approve score', async () => {
    const cat = await refusal(
      pmml(occupation, leaf('c1', '1', '<SimplePredicate field="Occupation_type" operator="equal" value="Pilot"/>')),
    );
    expect(cat.code).toBe('unknown_value');
    expect(cat.message).toMatch(/Node "c1".*"Pilot"/);
    const open = leaf('o1', '1', '<SimplePredicate field="Age" operator="lessThan" value="30"/>');
    const none = await refusal(pmml(continuous('Age'), open, { strategy: 'returnNullPrediction' }));
    expect(none.code).toBe('unsupported_pmml');
    expect(none.message).toContain('Node "root"');
    // Complementary children leave nothing uncovered, so the same strategy is fine then.
    const closed = `${open}\n${leaf('o2', '0', '<SimplePredicate field="Age" operator="greaterOrEqual" value="30"/>')}`;
    await expect(importPmmlModel(pmml(continuous('Age'), closed, { strategy: 'returnNullPrediction' }))).resolves.toBeDefined();
    expect((await refusal(pmml(continuous('Age'), open, { model: 'regression' }))).code).toBe('unsupported_pmml');
    expect((await refusal(pmml(continuous('Age'), open), { approveScore: 'yes' })).code).toBe('unknown_value');
    // A cast that changes values (decimal income to integer) is not followed.
    const cast = '<DerivedField name="int(income)" optype="continuous" dataType="integer"><FieldRef field="Total_income"/></DerivedField>';
    const truncated = await refusal(
      pmml(continuous('Total_income'), leaf('i', '0', '<SimplePredicate field="int(income)" operator="lessThan" value="20000"/>'), {
        casts: cast,
      }),
    );
    expect(truncated.code).toBe('unsupported_pmml');
    expect(truncated.message).toMatch(/^Node "i": .*integer/);
  });
});
