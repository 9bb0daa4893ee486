/**
 * The private model report: a Markdown page a bank's model-risk reviewer reads, written by
 * `npm run train` next to the private tree (never served: it holds the figures the public
 * manifest must not). Training data and its size, held-out figures, figures on an evaluation CSV,
 * the policy's constraint checks with counts, the features read and not asked, the circuit's
 * bootstrap count.
 *
 * Browser-safe (text only; the CLI writes the file).
 */
import type { ConstraintReport, ModelPolicy } from './constraints.ts';
import { FEATURE_NAMES, FEATURE_SPECS } from '../../model/features.ts';
import type { Model } from '../../model/private-model.ts';
import type { LabeledApplication } from './synthetic.ts';
import type { Metrics } from './train.ts';

export interface ReportInput {
  model: Model;
  /** The rows the model was trained and held out on (null for an imported tree). */
  rows: readonly LabeledApplication[] | null;
  heldOut: Metrics | null;
  /** Figures on a user CSV (`--eval-csv`): its file name (no directory), rows and metrics. */
  evaluation: { file: string; rows: readonly LabeledApplication[]; metrics: Metrics; alwaysApprove: number } | null;
  policy: ModelPolicy;
  constraints: ConstraintReport;
  circuit: {
    pbs: number;
    pbsDecision: number;
    pbsExplanation: number;
    pbsSanitizePublicKey: number;
    pbsDepth: number;
    budget: number | null;
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const fig = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(4));

function metricsTable(rows: [string, Metrics | null][]): string {
  const lines = ['| rows | accuracy | precision | recall | AUC |', '|---|---|---|---|---|'];
  for (const [name, m] of rows) {
    if (m) lines.push(`| ${name} | ${fig(m.accuracy)} | ${fig(m.precision)} | ${fig(m.recall)} | ${fig(m.auc)} |`);
  }
  return lines.join('\n');
}

/** One line per feature: its range or value counts in the data. */
function describeData(rows: readonly LabeledApplication[]): string {
  const lines = ['| feature | party | in the data |', '|---|---|---|'];
  for (const name of FEATURE_NAMES) {
    const spec = FEATURE_SPECS[name];
    const values = rows.map((r) => r.features[name]);
    let text: string;
    if (spec.kind === 'boolean') {
      text = `true ${pct(values.filter((v) => v === true).length / rows.length)}`;
    } else if (spec.kind === 'category') {
      const counts = new Map<string, number>();
      for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
      text = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([v, n]) => `${v} ${pct(n / rows.length)}`)
        .join(', ');
      if (counts.size > 6) text += `, … (${counts.size} values)`;
    } else {
      const sorted = (values as number[]).slice().sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
      text = `min ${sorted[0]}, median ${q(0.5)}, 90th percentile ${q(0.9)}, max ${sorted[sorted.length - 1]}`;
    }
    lines.push(`| ${name} | ${spec.party} | ${text} |`);
  }
  return lines.join('\n');
}

const RULE_NAMES: Record<ConstraintReport['counts'][number]['rule'], string> = {
  increasing: 'approval never falls as it rises',
  protected_age: 'no one aged at or above the protected age is treated worse than the year before',
  income_floor: 'every income below the floor is denied',
  unordered_codes: 'codes follow the feature order',
};

/** The report as Markdown. */
export function modelReport(r: ReportInput): string {
  const { model } = r;
  const t = model.tree.training;
  const read = new Set(model.tree.nodes.flatMap((n) => (n.type === 'split' ? [n.input] : [])));
  const inputs = model.manifest.inputs;
  const asked = new Set(inputs.map((i) => i.feature));
  const leaves = model.tree.nodes.filter((n) => n.type === 'leaf').length;
  const out: string[] = [];
  out.push(`# Model report: ${model.manifest.name}`, '');
  out.push(
    `Model version \`${model.manifest.modelVersion}\`. **Private**: this report holds the bank's figures; ` +
      'it lives next to `tree.json` and is never served (the public manifest holds none of it).',
    '',
  );

  out.push('## Training data', '');
  if (t.source === 'pmml') {
    out.push(`Imported PMML tree (SHA-256 \`${t.sha256}\`, producer ${t.producer ?? 'unknown'}); no training data here.`, '');
  } else {
    out.push(
      `${t.source === 'synthetic' ? `Synthetic applicants (\`tools/model/synthetic.ts\`, seed ${t.seed})` : 'The bank\u2019s CSV'}: ` +
        `${t.rows} rows, of which ${t.heldOutRows} held out for the figures below; approval rate ${pct(t.metrics.approvalRate)}.`,
      '',
    );
    out.push(
      `Trainer: constrained CART (Gini, balanced class weights ${t.options.classWeights.denied} / ${t.options.classWeights.approved}), ` +
        `depth ≤ ${t.options.maxDepth}, ≥ ${t.options.minSamplesLeaf} rows per leaf.`,
      '',
    );
    if (r.rows) out.push(describeData(r.rows), '');
  }

  out.push('## Performance', '', 'Approval is the positive class. AUC ranks applicants by their leaf\u2019s training approval share.', '');
  out.push(
    metricsTable([
      [`held out (${t.source === 'pmml' ? 0 : t.heldOutRows})`, r.heldOut],
      ...(r.evaluation ? [[`\`${r.evaluation.file}\` (${r.evaluation.rows.length})`, r.evaluation.metrics] as [string, Metrics]] : []),
    ]),
    '',
  );
  if (r.evaluation) {
    out.push(
      `On \`${r.evaluation.file}\`, approving everyone would be right on ${pct(r.evaluation.alwaysApprove)} of the rows; ` +
        `its approval rate is ${pct(r.evaluation.metrics.approvalRate)}.`,
      '',
    );
  } else {
    out.push('No evaluation CSV was given (`--eval-csv <path>`).', '');
  }

  out.push('## Policy and constraint checks', '');
  const p = r.policy;
  out.push(
    `- Approval never decreases as ${p.increasing.join(', ')} increase${p.increasing.length === 1 ? 's' : ''}.`,
    `- ${p.protectedAge === null ? 'No protected age.' : `No applicant aged ${p.protectedAge} or over gets a worse decision than the same applicant at ${p.protectedAge - 1}.`}`,
    `- ${p.incomeFloor === null ? 'No income floor.' : `Below a yearly income of ${p.incomeFloor}, the decision is "denied", whatever the rest.`}`,
    '',
  );
  out.push(
    `Checked exactly on the tree by comparing leaf boxes, which covers all ${r.constraints.combinations.toLocaleString('en-US')} ` +
      'combinations of the codes of the inputs the tree reads.',
    '',
  );
  out.push('| rule | input | leaf pairs examined | violations |', '|---|---|---|---|');
  for (const c of r.constraints.counts) out.push(`| ${RULE_NAMES[c.rule]} | ${c.input} | ${c.leafPairs} | ${c.violations} |`);
  out.push('');
  if (r.constraints.violations.length > 0) {
    out.push('**Violations:**', '', ...r.constraints.violations.map((v) => `- ${v.message}`), '');
  }

  out.push('## Features', '');
  out.push(
    `The tree reads ${read.size} of ${FEATURE_NAMES.length} features: ${[...read].join(', ')}. ` +
      `The form asks for ${asked.size}: ${[...asked].join(', ')}` +
      (model.manifest.unreadInputs?.length ? ` (collected by choice, not read: ${model.manifest.unreadInputs.join(', ')})` : '') +
      `. Not asked: ${FEATURE_NAMES.filter((f) => !asked.has(f)).join(', ') || 'none'}.`,
    '',
  );
  out.push(`Tree: ${model.tree.nodes.length} nodes, ${leaves} leaves.`, '');

  out.push('## Encrypted circuit', '');
  const c = r.circuit;
  out.push(
    `${c.pbs} bootstraps per run (${c.pbsDecision} for the decision, ${c.pbsExplanation} for the ${model.manifest.explanation.bins.length}-bin explanation), ` +
      `plus ${c.pbsSanitizePublicKey} sanitizing the bank's and the bureau's public-key uploads: ${c.pbs + c.pbsSanitizePublicKey} in applicant mode; ` +
      `critical path ${c.pbsDepth} bootstraps.` +
      (c.budget === null ? '' : ` Budget: ${c.budget}.`),
    '',
  );
  return `${out.join('\n').trimEnd()}\n`;
}
