/**
 * Bring your own model: a PMML 4.x `TreeModel` (single classification tree) → a BlindScore
 * artifact, the same public manifest and private tree `npm run train` writes, sealed with the
 * same `modelVersion`.
 *
 * 1. Each predicate becomes a literal over one feature (`pmml-fields.ts`).
 * 2. The PMML node tree (first child whose predicate holds wins; `noTrueChildStrategy`;
 *    compound predicates; surrogates, whose first operand always decides since no value is ever
 *    missing) is rebuilt as binary splits, tracking what can still reach each node (a code
 *    range per number, a value set per category) so unreachable branches and fall-throughs are
 *    dropped.
 * 3. Each feature gets a quantizer under which every split on it is `code ≤ t`
 *    (`pmml-coding.ts`): numbers cut exactly at the thresholds of the splits left; booleans and years
 *    employed in their own order; other categories in an order found for the splits. Sibling
 *    leaves with one decision are then merged as the trainer does.
 *
 * Browser-safe (no I/O; the CLI is `train-cli.ts`).
 */
import { collapse, flatten, type Grown } from './cart.ts';
import { ModelError } from '../../model/errors.ts';
import { FEATURE_NAMES, FEATURE_SPECS, type FeatureName } from '../../model/features.ts';
import { MAX_TREE_DEPTH, MAX_TREE_NODES, sealModel, type ImportedInfo, type Model, type TreeNode } from '../../model/private-model.ts';
import { sha256Hex } from '../../protocol/bytes.ts';
import { finiteCodes, numericCuts, type FiniteSplit, type Use } from './pmml-coding.ts';
import { FieldResolver, domainOf, literalOf, valueBits } from './pmml-fields.ts';
import { parsePmmlTree, type PmmlNode, type PmmlPredicate, type PmmlTreeDocument } from './pmml.ts';
import { bitsForLevels, digitsForBits, quantizerLevels, type EncryptedInput, type Quantizer } from '../../model/quantize.ts';
import type { LabeledApplication } from './synthetic.ts';
import { DEFAULT_MODEL_NAME, approvalRate, manifestBody, scoreModel, treeBody, type Metrics } from './train.ts';

export interface ImportPmmlOptions {
  /** PMML field name → feature (snake_case or the seed's column name), for fields named otherwise. */
  fieldMap?: Readonly<Record<string, string>>;
  /** The tree's score (class) that means "approve"; default: `1`, `approved`, `approve`, `yes`, `true` or `good`. */
  approveScore?: string;
  /** Model name shown in the (public) manifest; default `DEFAULT_MODEL_NAME`, not the document's name. */
  name?: string;
  /** Labeled rows to measure the imported model on (recorded in the private tree file). */
  evaluate?: readonly LabeledApplication[];
  /** The tree file's salt (64 hex digits); a fresh random one by default. */
  salt?: string;
}

export interface ImportedModel {
  model: Model;
  /** On `options.evaluate`, or null. */
  metrics: Metrics | null;
  /** Which PMML field became which feature. */
  fields: { field: string; feature: FeatureName }[];
}

const DEFAULT_APPROVE_SCORES = ['1', 'approved', 'approve', 'yes', 'true', 'good'];
/** Bound on intermediate splits (compound predicates duplicate subtrees) before flattening. */
const MAX_BUILD_SPLITS = 50_000;

const sameScore = (a: string, b: string) =>
  a === b || (a.trim() !== '' && b.trim() !== '' && Number.isFinite(Number(a)) && Number(a) === Number(b));

// ---------------------------------------------------------------------------------------------
// The tree

/** Collects the literal of every simple and set predicate the tree can evaluate. */
function collectLiterals(doc: PmmlTreeDocument, fields: FieldResolver): Map<PmmlPredicate, Use> {
  const out = new Map<PmmlPredicate, Use>();
  const visit = (p: PmmlPredicate, where: string): void => {
    if (p.kind === 'simple' || p.kind === 'set') {
      const field = fields.resolve(p.field, where);
      out.set(p, { literal: literalOf(p, field, where), where, field: field.dataField });
    }
    // A surrogate's first operand is never UNKNOWN here (no value is missing), so it always decides.
    else if (p.kind === 'compound') {
      for (const q of p.operator === 'surrogate' ? p.operands.slice(0, 1) : p.operands) visit(q, where);
    }
  };
  const walk = (n: PmmlNode): void => {
    visit(n.predicate, n.where);
    n.children.forEach(walk);
  };
  walk(doc.root);
  return out;
}

/** The class a node predicts: its score, else the most likely class of its distribution. */
function nodeScore(node: PmmlNode): string {
  if (node.score !== null) return node.score;
  if (node.distribution.length === 0) {
    throw new ModelError('missing_score', `${node.where}: the node can decide but has neither a score nor a ScoreDistribution`, {
      where: node.where,
    });
  }
  const weight = (s: PmmlNode['distribution'][number]) =>
    node.distribution.every((d) => d.probability !== null) ? s.probability! : s.recordCount;
  const best = Math.max(...node.distribution.map(weight));
  const winners = node.distribution.filter((d) => weight(d) === best);
  if (winners.length > 1) {
    throw new ModelError(
      'missing_score',
      `${node.where}: no score, and its ScoreDistribution ties between ${winners.map((w) => JSON.stringify(w.value)).join(' and ')}`,
      { where: node.where },
    );
  }
  return winners[0]!.value;
}

function resolveApproveScore(doc: PmmlTreeDocument, requested: string | undefined): string {
  const classes = new Set<string>();
  if (doc.targetField !== null) for (const v of doc.dataFields.get(doc.targetField)!.values) classes.add(v);
  const walk = (n: PmmlNode): void => {
    if (n.score !== null) classes.add(n.score);
    for (const d of n.distribution) classes.add(d.value);
    n.children.forEach(walk);
  };
  walk(doc.root);
  const list = [...classes].map((c) => JSON.stringify(c)).join(', ');
  if (requested !== undefined) {
    const hit = [...classes].find((c) => sameScore(c, requested));
    if (hit === undefined) {
      throw new ModelError('unknown_value', `approve score ${JSON.stringify(requested)} is not a class of the tree (${list})`, {
        value: requested,
      });
    }
    return hit;
  }
  for (const want of DEFAULT_APPROVE_SCORES) {
    const hit = [...classes].find((c) => sameScore(c.trim().toLowerCase(), want));
    if (hit !== undefined) return hit;
  }
  throw new ModelError('unsupported_pmml', `cannot tell which class approves (${list}): pass --approve-score`, {});
}

/**
 * What can still reach a point of the tree: per numeric feature the values `low ≤ x < high`
 * (bounds are cuts of earlier splits), per finite feature a set of values.
 */
interface Reach {
  ranges: readonly (readonly [number, number])[];
  values: readonly number[];
}

/** The tree while rebuilding: splits on finite features get their threshold once codes are known. */
type Draft =
  | { type: 'leaf'; decision: 0 | 1; samples: number }
  | { type: 'cut'; feature: number; cut: number; below: Draft; above: Draft }
  | { type: 'set'; feature: number; split: FiniteSplit; yes: Draft; no: Draft };

/**
 * Rebuilds the PMML tree as binary splits. `cond(p, reach, yes, no)` builds "if p then yes else
 * no", visiting only branches some applicant can reach.
 */
function buildTree(
  doc: PmmlTreeDocument,
  uses: Map<PmmlPredicate, Use>,
  approve: string,
): { draft: Draft; splits: FiniteSplit[][]; cuts: Use[][] } {
  let count = 0;
  const splits: FiniteSplit[][] = FEATURE_NAMES.map(() => []);
  const cuts: Use[][] = FEATURE_NAMES.map(() => []);
  const countSplit = () => {
    if (++count > MAX_BUILD_SPLITS)
      throw new ModelError('unsupported_pmml', `the tree expands to more than ${MAX_BUILD_SPLITS} binary splits`, {});
  };
  type Branch = (r: Reach) => Draft;

  const literal = (use: Use, r: Reach, yes: Branch, no: Branch): Draft => {
    const l = use.literal;
    if (l.kind === 'const') return l.value ? yes(r) : no(r);
    const f = FEATURE_NAMES.indexOf(l.feature);
    if (l.kind === 'finite') {
      const within = r.values[f]!;
      const holds = within & l.members;
      if (holds === 0) return no(r);
      if (holds === within) return yes(r);
      countSplit();
      const split = { within, yes: holds, use };
      splits[f]!.push(split);
      const narrowed = (v: number) => ({ ...r, values: r.values.map((x, i) => (i === f ? v : x)) });
      return { type: 'set', feature: f, split, yes: yes(narrowed(holds)), no: no(narrowed(within & ~holds)) };
    }
    const [low, high] = r.ranges[f]!;
    const [onBelow, onAbove] = l.below ? [yes, no] : [no, yes];
    if (l.cut >= high) return onBelow(r);
    if (l.cut <= low) return onAbove(r);
    countSplit();
    cuts[f]!.push(use);
    const narrowed = (range: readonly [number, number]) => ({ ...r, ranges: r.ranges.map((x, i) => (i === f ? range : x)) });
    return { type: 'cut', feature: f, cut: l.cut, below: onBelow(narrowed([low, l.cut])), above: onAbove(narrowed([l.cut, high])) };
  };

  const cond = (p: PmmlPredicate, r: Reach, yes: Branch, no: Branch): Draft => {
    switch (p.kind) {
      case 'true':
        return yes(r);
      case 'false':
        return no(r);
      case 'compound': {
        const [first, ...rest] = p.operands as [PmmlPredicate, ...PmmlPredicate[]];
        if (p.operator === 'surrogate' || rest.length === 0) return cond(first, r, yes, no);
        const tail: PmmlPredicate = { kind: 'compound', operator: p.operator, operands: rest };
        const restOf =
          (y: Branch, n: Branch): Branch =>
          (q) =>
            rest.length === 1 ? cond(rest[0]!, q, y, n) : cond(tail, q, y, n);
        if (p.operator === 'and') return cond(first, r, restOf(yes, no), no);
        if (p.operator === 'or') return cond(first, r, yes, restOf(yes, no));
        return cond(first, r, restOf(no, yes), restOf(yes, no)); // xor
      }
      default:
        return literal(uses.get(p)!, r, yes, no);
    }
  };

  const leaf = (n: PmmlNode): Draft => ({
    type: 'leaf',
    decision: sameScore(nodeScore(n), approve) ? 1 : 0,
    samples: Math.round(n.recordCount ?? n.distribution.reduce((s, d) => s + d.recordCount, 0)),
  });
  const noPrediction = (where: string): never => {
    throw new ModelError(
      'unsupported_pmml',
      `${where}: for some applicants no child predicate holds and the tree returns no prediction (noTrueChildStrategy="returnNullPrediction")`,
      { where },
    );
  };
  // At node n (its predicate held): the first child whose predicate holds, else the fallback.
  const at = (n: PmmlNode, r: Reach): Draft => {
    if (n.children.length === 0) return leaf(n);
    const fallback: Branch = () => (doc.noTrueChildStrategy === 'returnLastPrediction' ? leaf(n) : noPrediction(n.where));
    const from = (i: number): Branch =>
      i === n.children.length ? fallback : (q) => cond(n.children[i]!.predicate, q, (s) => at(n.children[i]!, s), from(i + 1));
    return from(0)(r);
  };
  const start: Reach = {
    ranges: FEATURE_NAMES.map(() => [-Infinity, Infinity] as const),
    values: FEATURE_NAMES.map((f) => {
      const d = domainOf(f);
      return d.kind === 'finite' ? (1 << d.values.length) - 1 : 0;
    }),
  };
  const draft = cond(
    doc.root.predicate,
    start,
    (r) => at(doc.root, r),
    () => noPrediction(doc.root.where),
  );
  return { draft, splits, cuts };
}

/**
 * Draft → binary splits on codes. A numeric code counts the cuts ≤ x, so `x < cuts[t]` is
 * `code ≤ t`; a finite split's true values are a run at one end of the codes reaching it.
 */
function finish(d: Draft, cuts: readonly (readonly number[])[], codes: readonly (readonly number[])[]): Grown {
  if (d.type === 'leaf') return d;
  if (d.type === 'cut') {
    const threshold = cuts[d.feature]!.indexOf(d.cut);
    return { type: 'split', feature: d.feature, threshold, left: finish(d.below, cuts, codes), right: finish(d.above, cuts, codes) };
  }
  const c = codes[d.feature]!;
  const codesOf = (mask: number) => c.filter((_, v) => mask & (1 << v));
  const yes = codesOf(d.split.yes);
  const no = codesOf(d.split.within & ~d.split.yes);
  const yesLow = Math.max(...yes) < Math.min(...no);
  if (!yesLow && Math.max(...no) >= Math.min(...yes)) throw new Error(`${d.split.use.where}: the coding does not order this split`);
  return {
    type: 'split',
    feature: d.feature,
    threshold: yesLow ? Math.max(...yes) : Math.max(...no),
    left: finish(yesLow ? d.yes : d.no, cuts, codes),
    right: finish(yesLow ? d.no : d.yes, cuts, codes),
  };
}

function depthOf(nodes: readonly TreeNode[], i = 0): number {
  const n = nodes[i]!;
  return n.type === 'leaf' ? 0 : 1 + Math.max(depthOf(nodes, n.left), depthOf(nodes, n.right));
}

// ---------------------------------------------------------------------------------------------
// The artifact

/**
 * Imports a PMML `TreeModel` as a sealed BlindScore model.
 * @param xml the PMML document's text
 * @throws ModelError `invalid_pmml` | `unsupported_pmml` | `unknown_field` | `unknown_value` |
 *   `too_many_thresholds` | `unrepresentable_split` | `missing_score`, naming the node or field.
 * @example
 * const { model } = await importPmmlModel(readFileSync('bank-tree.pmml', 'utf8'), { approveScore: 'approved' });
 */
export async function importPmmlModel(xml: string, options: ImportPmmlOptions = {}): Promise<ImportedModel> {
  const doc = parsePmmlTree(xml);
  if (doc.functionName !== 'classification') {
    throw new ModelError('unsupported_pmml', `TreeModel functionName="${doc.functionName}": only classification trees can be imported`, {});
  }
  const resolver = new FieldResolver(doc, options.fieldMap ?? {});
  const fields = doc.activeFields.map((field) => ({ field, feature: resolver.resolve(field, `MiningField "${field}"`).feature }));
  // Declared category values must be ours, or the bank's coding differs from the schema's.
  for (const { field, feature } of fields) {
    const domain = domainOf(feature);
    if (domain.kind === 'finite') for (const v of doc.dataFields.get(field)!.values) valueBits(domain, v, `DataField "${field}"`);
  }
  const approve = resolveApproveScore(doc, options.approveScore);
  const uses = collectLiterals(doc, resolver);
  let nodes: TreeNode[];
  let quantizers: Quantizer[];
  try {
    const built = buildTree(doc, uses, approve);
    // Only thresholds some applicant reaches count against the 15 cuts of a 4-bit code.
    const cuts = FEATURE_NAMES.map((feature, f) => numericCuts(feature, built.cuts[f]!));
    const { draft, splits } = built;
    const codes = FEATURE_NAMES.map((feature, f) => (domainOf(feature).kind === 'finite' ? finiteCodes(feature, splits[f]!) : []));
    quantizers = FEATURE_NAMES.map((feature, f): Quantizer => {
      const domain = domainOf(feature);
      if (domain.kind === 'numeric') return { kind: 'thresholds', cuts: cuts[f]! };
      if (FEATURE_SPECS[feature].kind === 'boolean') return { kind: 'boolean' };
      return { kind: 'category', codes: Object.fromEntries(domain.values.map((v, i) => [v.label, codes[f]![i]!])) };
    });
    nodes = flatten(collapse(finish(draft, cuts, codes)), FEATURE_NAMES);
  } catch (e) {
    // Long sibling chains recurse once per child; a hostile document must not crash the caller.
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new ModelError('unsupported_pmml', 'the tree nests too deeply to rebuild as binary splits', {});
    }
    throw e;
  }
  if (nodes.length > MAX_TREE_NODES) {
    throw new ModelError(
      'unsupported_pmml',
      `the tree has ${nodes.length} nodes as binary splits; at most ${MAX_TREE_NODES} are supported`,
      {},
    );
  }
  const depth = depthOf(nodes);
  if (depth > MAX_TREE_DEPTH) {
    throw new ModelError(
      'unsupported_pmml',
      `the tree is ${depth} levels deep as binary splits; at most ${MAX_TREE_DEPTH} are supported`,
      {},
    );
  }

  const inputs: EncryptedInput[] = FEATURE_NAMES.map((feature, f) => {
    const quantizer = quantizers[f]!;
    const bits = bitsForLevels(quantizerLevels(quantizer));
    return { name: feature, feature, party: FEATURE_SPECS[feature].party, bits, digits: digitsForBits(bits), quantizer };
  });
  const metrics = options.evaluate
    ? { ...scoreModel(inputs, { nodes }, options.evaluate), approvalRate: approvalRate(options.evaluate) }
    : null;
  const training: ImportedInfo = {
    source: 'pmml',
    sha256: await sha256Hex(xml),
    producer: doc.producer?.slice(0, 200) ?? null,
    modelName: doc.modelName?.slice(0, 200) ?? null,
    approveScore: approve.slice(0, 200),
    rows: options.evaluate?.length ?? 0,
    metrics,
  };
  // The document's own name stays in the private record: the public name is the bank's choice.
  const manifest = manifestBody((options.name ?? DEFAULT_MODEL_NAME).slice(0, 200), inputs, nodes);
  return { model: await sealModel(manifest, treeBody(nodes, training, options.salt)), metrics, fields };
}
