/**
 * Test support: writes a BlindScore tree as a PMML 4.4 TreeModel over raw feature values, the
 * way sklearn2pmml (JPMML-SkLearn) lays one out — so the importer can be checked against the
 * model it came from. Each split `code ≤ t` becomes a predicate on the raw value that holds for
 * exactly the values whose code is ≤ t.
 */
import { FEATURE_SPECS, type FeatureName } from '../../../../model/features.ts';
import { CSV_COLUMNS } from '../../../../tools/model/columns.ts';
import type { Model, TreeNode } from '../../../../model/private-model.ts';
import type { EncryptedInput } from '../../../../model/quantize.ts';

export interface PmmlWriterOptions {
  /**
   * `compact`: the second child of a split is `<True/>` (JPMML's compacted trees);
   * `explicit`: it carries the complementary predicate (R's pmml, KNIME).
   */
  style: 'compact' | 'explicit';
  /** Leaf scores (default `1` / `0`). */
  classes?: { approve: string; deny: string };
  /** Leave `score` out and let the ScoreDistribution decide. */
  distributionOnly?: boolean;
  /** Field name per feature (default: the seed's column name). */
  names?: Partial<Record<FeatureName, string>>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const quoteArray = (values: readonly string[]) => values.map((v) => (/[\s"]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v)).join(' ');

interface Written {
  left: string;
  right: string;
}

/** The predicates of a split's two children on raw values. */
function splitPredicates(input: EncryptedInput, t: number, field: string): Written {
  const q = input.quantizer;
  const spec = FEATURE_SPECS[input.feature];
  const simple = (op: string, value: string | number, f = field) =>
    `<SimplePredicate field="${esc(f)}" operator="${op}" value="${esc(String(value))}"/>`;
  if (q.kind === 'boolean') return { left: simple('lessOrEqual', 0.5), right: simple('greaterThan', 0.5) };
  if (q.kind === 'thresholds') {
    const cut = q.cuts[t]!;
    // code ≤ t ⇔ x < cut; integers as sklearn writes them (midpoints), decimals with lessThan.
    return spec.kind === 'integer'
      ? { left: simple('lessOrEqual', cut - 0.5), right: simple('greaterThan', cut - 0.5) }
      : { left: simple('lessThan', cut), right: simple('greaterOrEqual', cut) };
  }
  if (input.feature === 'years_employed') {
    // The seed stores the bin index; sklearn2pmml compares it through float and double casts.
    return {
      left: simple('lessOrEqual', t + 0.5, `double(float(${field}))`),
      right: simple('greaterThan', t + 0.5, `double(float(${field}))`),
    };
  }
  const inLeft = Object.entries(q.codes)
    .filter(([, code]) => code <= t)
    .map(([v]) => v);
  if (inLeft.length === 1) return { left: simple('equal', inLeft[0]!), right: simple('notEqual', inLeft[0]!) };
  const set = (op: string) =>
    `<SimpleSetPredicate field="${esc(field)}" booleanOperator="${op}"><Array type="string">${esc(quoteArray(inLeft))}</Array></SimpleSetPredicate>`;
  return { left: set('isIn'), right: set('isNotIn') };
}

/** A PMML document for `model`'s tree. */
export function modelToPmml(model: Model, options: PmmlWriterOptions): string {
  const classes = options.classes ?? { approve: '1', deny: '0' };
  const nameOf = (f: FeatureName) => options.names?.[f] ?? CSV_COLUMNS[f];
  const inputs = new Map(model.manifest.inputs.map((i) => [i.name, i]));
  let id = 0;

  const node = (i: number, predicate: string, indent: string): string => {
    const n: TreeNode = model.tree.nodes[i]!;
    const nodeId = ++id;
    if (n.type === 'leaf') {
      const score = n.decision === 1 ? classes.approve : classes.deny;
      const other = n.decision === 1 ? classes.deny : classes.approve;
      const attr = options.distributionOnly ? '' : ` score="${esc(score)}"`;
      return (
        `${indent}<Node id="${nodeId}"${attr} recordCount="${n.samples + 2}">\n${indent}  ${predicate}\n` +
        `${indent}  <ScoreDistribution value="${esc(score)}" recordCount="${n.samples + 1}"/>\n` +
        `${indent}  <ScoreDistribution value="${esc(other)}" recordCount="1"/>\n${indent}</Node>`
      );
    }
    const input = inputs.get(n.input)!;
    const p = splitPredicates(input, n.threshold, nameOf(input.feature));
    const right = options.style === 'compact' ? '<True/>' : p.right;
    return (
      `${indent}<Node id="${nodeId}">\n${indent}  ${predicate}\n` +
      `${node(n.left, p.left, `${indent}  `)}\n${node(n.right, right, `${indent}  `)}\n${indent}</Node>`
    );
  };

  const features = model.manifest.inputs.map((i) => i.feature);
  const dataField = (f: FeatureName) => {
    const spec = FEATURE_SPECS[f];
    if (spec.kind === 'category' && f !== 'years_employed') {
      const values = spec.values.map((v) => `<Value value="${esc(v)}"/>`).join('');
      return `    <DataField name="${esc(nameOf(f))}" optype="categorical" dataType="string">${values}</DataField>`;
    }
    return `    <DataField name="${esc(nameOf(f))}" optype="continuous" dataType="double"/>`;
  };
  const years = nameOf('years_employed');
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <Header>
    <Application name="BlindScore test writer" version="1"/>
  </Header>
  <DataDictionary>
    <DataField name="Target" optype="categorical" dataType="string"><Value value="${esc(classes.deny)}"/><Value value="${esc(classes.approve)}"/></DataField>
${features.map(dataField).join('\n')}
  </DataDictionary>
  <TreeModel modelName="round-trip" functionName="classification" missingValueStrategy="nullPrediction" noTrueChildStrategy="returnLastPrediction">
    <MiningSchema>
      <MiningField name="Target" usageType="target"/>
${features.map((f) => `      <MiningField name="${esc(nameOf(f))}"/>`).join('\n')}
    </MiningSchema>
    <LocalTransformations>
      <DerivedField name="float(${esc(years)})" optype="continuous" dataType="float"><FieldRef field="${esc(years)}"/></DerivedField>
      <DerivedField name="double(float(${esc(years)}))" optype="continuous" dataType="double"><FieldRef field="float(${esc(years)})"/></DerivedField>
    </LocalTransformations>
${node(0, '<True/>', '    ')}
  </TreeModel>
</PMML>
`;
}
