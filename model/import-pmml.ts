/**
 * Bring your own model: a PMML 4.x `TreeModel` (single classification tree) → a BlindScore
 * artifact, the same public manifest and private tree `npm run train` writes, sealed with the
 * same `modelVersion`.
 *
 * 1. Each predicate becomes a literal over one feature (`pmml-fields.ts`).
 * 2. Each feature gets a quantizer under which every literal on it is a threshold `code ≤ t`:
 *    numbers are cut exactly at the tree's thresholds (≤ 15 cuts: 4 bits); booleans keep
 *    false/true = 0/1; years employed keeps its bin order (the explanation compares bins);
 *    other categories get an order of value groups in which every value set the tree tests is
 *    a prefix or a suffix (such an order is a chain of nested sets, searched exhaustively).
 * 3. The PMML node tree (first child whose predicate holds wins; `noTrueChildStrategy`;
 *    compound predicates; surrogates, whose first operand always decides since no value is ever
 *    missing) is rebuilt as binary splits, tracking which codes can still reach each node so
 *    unreachable branches and fall-throughs are dropped, then sibling leaves with one decision
 *    are merged as the trainer does.
 *
 * Browser-safe (no I/O; the CLI is `train-cli.ts`).
 */
import { collapse, flatten, type Grown } from './cart.ts';
import { ModelError } from './errors.ts';
import { FEATURE_NAMES, FEATURE_SPECS, type FeatureName } from './features.ts';
import { EXPLANATION_FEATURE } from './fit-quantizers.ts';
import {
  FORMAT_VERSION,
  MAX_TREE_DEPTH,
  MAX_TREE_NODES,
  TREE_KIND,
  sealModel,
  sha256Hex,
  type ImportedInfo,
  type Model,
  type TreeNode,
} from './manifest.ts';
import { FieldResolver, domainOf, literalOf, valueBits, type Literal } from './pmml-fields.ts';
import { parsePmmlTree, type PmmlNode, type PmmlPredicate, type PmmlTreeDocument } from './pmml.ts';
import {
  MAX_CODE,
  bitsForLevels,
  digitsForBits,
  quantizerLevels,
  type EncryptedInput,
  type Quantizer,
} from './quantize.ts';
import type { LabeledApplication } from './synthetic.ts';
import { approvalRate, manifestBody, scoreModel, type Metrics } from './train.ts';

export interface ImportPmmlOptions {
  /** PMML field name → feature (snake_case or the seed's column name), for fields named otherwise. */
  fieldMap?: Readonly<Record<string, string>>;
  /** The tree's score (class) that means "approve"; default: `1`, `approved`, `approve`, `yes`, `true` or `good`. */
  approveScore?: string;
  /** Model name shown in the manifest. */
  name?: string;
  /** Labeled rows to measure the imported model on (recorded in the manifest). */
  evaluate?: readonly LabeledApplication[];
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
// Literals and codings

/** Where a literal was found, for error messages. */
interface Use {
  literal: Literal;
  where: string;
}

/** A literal as a split on the feature's code: holds iff `(code ≤ threshold) === left`. */
type Test = { kind: 'const'; value: boolean } | { kind: 'test'; feature: number; threshold: number; left: boolean };

const popcount = (x: number) => {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
};

function describeSet(feature: FeatureName, members: number): string {
  const d = domainOf(feature);
  return d.kind === 'finite' ? `{${d.values.filter((_, i) => members & (1 << i)).map((v) => v.label).join(', ')}}` : '';
}

interface FiniteCoding {
  codes: number[];
  /** Oriented set → threshold (`code ≤ t` ⇔ value in set). */
  chain: Map<number, number>;
}

/** Fixed order (booleans, years employed): code = value index; every set must be a prefix or suffix. */
function fixedCoding(feature: FeatureName, n: number, uses: readonly Use[]): FiniteCoding {
  const all = (1 << n) - 1;
  const chain = new Map<number, number>();
  for (let t = 0; t < n - 1; t++) chain.set((1 << (t + 1)) - 1, t);
  for (const u of uses) {
    const members = (u.literal as Literal & { kind: 'finite' }).members;
    if (!chain.has(members) && !chain.has(all & ~members)) {
      throw new ModelError(
        'unrepresentable_split',
        `${u.where}: the split ${describeSet(feature, members)} on ${feature} is not a threshold in the order ${describeSet(feature, all)}` +
          (feature === EXPLANATION_FEATURE ? ' (years employed keeps its bin order: the explanation compares bins)' : ''),
        { where: u.where, feature },
      );
    }
  }
  return { codes: Array.from({ length: n }, (_, i) => i), chain };
}

/**
 * Free order (categories): a coding in which every tested set or its complement is `code ≤ t`.
 * Such sets form a chain C1 ⊂ … ⊂ Ck containing the lowest-coded value; try each value as the
 * lowest, orient every set to contain it, and check the result is a chain. Values in the same
 * chain sets share a code, so a feature needs k + 1 levels.
 */
function chainCoding(feature: FeatureName, n: number, uses: readonly Use[]): FiniteCoding {
  const all = (1 << n) - 1;
  const sets = [...new Set(uses.map((u) => (u.literal as Literal & { kind: 'finite' }).members))];
  for (let r = 0; r < n; r++) {
    const oriented = [...new Set(sets.map((s) => (s & (1 << r) ? s : all & ~s)))].sort((a, b) => popcount(a) - popcount(b));
    if (!oriented.every((s, i) => i === 0 || (oriented[i - 1]! & ~s) === 0)) continue;
    if (oriented.length > MAX_CODE) {
      throw new ModelError(
        'too_many_thresholds',
        `${feature}: the tree's splits (at ${uses.map((u) => u.where).join(', ')}) need ${oriented.length + 1} value groups; a 4-bit input holds at most ${MAX_CODE + 1}`,
        { feature },
      );
    }
    const codes = Array.from({ length: n }, (_, v) => {
      const i = oriented.findIndex((s) => s & (1 << v));
      return i < 0 ? oriented.length : i;
    });
    return { codes, chain: new Map(oriented.map((s, t) => [s, t])) };
  }
  // Name the first two splits that cross (all four combinations of in/out occur), if any.
  for (const a of uses) {
    for (const b of uses) {
      const x = (a.literal as Literal & { kind: 'finite' }).members;
      const y = (b.literal as Literal & { kind: 'finite' }).members;
      if (x & y && x & ~y && ~x & y && all & ~(x | y)) {
        throw new ModelError(
          'unrepresentable_split',
          `${feature}: the splits ${describeSet(feature, x)} at ${a.where} and ${describeSet(feature, y)} at ${b.where} overlap without one containing the other, so no coding makes both a threshold \`code ≤ t\``,
          { feature, where: [a.where, b.where] },
        );
      }
    }
  }
  throw new ModelError(
    'unrepresentable_split',
    `${feature}: no order of its values makes every split a threshold (at ${uses.map((u) => u.where).join(', ')}; e.g. three disjoint value sets)`,
    { feature, where: uses.map((u) => u.where) },
  );
}

interface Codings {
  quantizers: Quantizer[];
  test: (literal: Literal) => Test;
}

function buildCodings(uses: readonly Use[]): Codings {
  const quantizers: Quantizer[] = [];
  const tests = new Map<Literal, Test>();
  FEATURE_NAMES.forEach((feature, f) => {
    const mine = uses.filter((u) => u.literal.kind !== 'const' && u.literal.feature === feature);
    const domain = domainOf(feature);
    if (domain.kind === 'numeric') {
      const cuts = [...new Set(mine.map((u) => (u.literal as Literal & { kind: 'numeric' }).cut))].sort((a, b) => a - b);
      if (cuts.length > MAX_CODE) {
        throw new ModelError(
          'too_many_thresholds',
          `${feature}: the tree uses ${cuts.length} distinct thresholds on it (at ${mine.map((u) => u.where).join(', ')}); a 4-bit input holds at most ${MAX_CODE}`,
          { feature, thresholds: cuts.length },
        );
      }
      quantizers.push({ kind: 'thresholds', cuts });
      // code ≤ t ⇔ x < cuts[t] (the code counts the cuts ≤ x).
      for (const u of mine) {
        const l = u.literal as Literal & { kind: 'numeric' };
        tests.set(l, { kind: 'test', feature: f, threshold: cuts.indexOf(l.cut), left: l.below });
      }
      return;
    }
    const n = domain.values.length;
    const coding = domain.fixedOrder ? fixedCoding(feature, n, mine) : chainCoding(feature, n, mine);
    quantizers.push(
      FEATURE_SPECS[feature].kind === 'boolean'
        ? { kind: 'boolean' }
        : { kind: 'category', codes: Object.fromEntries(domain.values.map((v, i) => [v.label, coding.codes[i]!])) },
    );
    const all = (1 << n) - 1;
    for (const u of mine) {
      const members = (u.literal as Literal & { kind: 'finite' }).members;
      const t = coding.chain.get(members);
      tests.set(
        u.literal,
        t !== undefined
          ? { kind: 'test', feature: f, threshold: t, left: true }
          : { kind: 'test', feature: f, threshold: coding.chain.get(all & ~members)!, left: false },
      );
    }
  });
  return {
    quantizers,
    test: (literal) => (literal.kind === 'const' ? literal : tests.get(literal)!),
  };
}

// ---------------------------------------------------------------------------------------------
// The tree

/** Collects the literal of every simple and set predicate the tree can evaluate. */
function collectLiterals(doc: PmmlTreeDocument, fields: FieldResolver): Map<PmmlPredicate, Use> {
  const out = new Map<PmmlPredicate, Use>();
  const visit = (p: PmmlPredicate, where: string): void => {
    if (p.kind === 'simple' || p.kind === 'set') out.set(p, { literal: literalOf(p, fields.resolve(p.field, where), where), where });
    // A surrogate's first operand is never UNKNOWN here (no value is missing), so it always decides.
    else if (p.kind === 'compound') (p.operator === 'surrogate' ? p.operands.slice(0, 1) : p.operands).forEach((q) => visit(q, where));
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
  if (doc.targetField !== null) doc.dataFields.get(doc.targetField)!.values.forEach((v) => classes.add(v));
  const walk = (n: PmmlNode): void => {
    if (n.score !== null) classes.add(n.score);
    n.distribution.forEach((d) => classes.add(d.value));
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

/** Code range [lo, hi] of each feature that can still reach a point of the tree. */
type Ranges = readonly (readonly [number, number])[];

/**
 * Rebuilds the PMML tree as binary splits. `cond(p, ranges, yes, no)` builds "if p then yes else
 * no", visiting only branches some code can reach.
 */
function buildTree(doc: PmmlTreeDocument, uses: Map<PmmlPredicate, Use>, codings: Codings, approve: string): Grown {
  let splits = 0;
  type Branch = (r: Ranges) => Grown;

  const cond = (p: PmmlPredicate, r: Ranges, yes: Branch, no: Branch): Grown => {
    switch (p.kind) {
      case 'true':
        return yes(r);
      case 'false':
        return no(r);
      case 'compound': {
        const [first, ...rest] = p.operands as [PmmlPredicate, ...PmmlPredicate[]];
        if (p.operator === 'surrogate' || rest.length === 0) return cond(first, r, yes, no);
        const tail: PmmlPredicate = { kind: 'compound', operator: p.operator, operands: rest };
        const restOf = (y: Branch, n: Branch): Branch => (q) => (rest.length === 1 ? cond(rest[0]!, q, y, n) : cond(tail, q, y, n));
        if (p.operator === 'and') return cond(first, r, restOf(yes, no), no);
        if (p.operator === 'or') return cond(first, r, yes, restOf(yes, no));
        return cond(first, r, restOf(no, yes), restOf(yes, no)); // xor
      }
      default: {
        const t = codings.test(uses.get(p)!.literal);
        if (t.kind === 'const') return t.value ? yes(r) : no(r);
        const [lo, hi] = r[t.feature]!;
        const [onLeft, onRight] = t.left ? [yes, no] : [no, yes];
        if (hi <= t.threshold) return onLeft(r);
        if (lo > t.threshold) return onRight(r);
        if (++splits > MAX_BUILD_SPLITS) {
          throw new ModelError('unsupported_pmml', `the tree expands to more than ${MAX_BUILD_SPLITS} binary splits`, {});
        }
        const narrowed = (range: readonly [number, number]) => r.map((x, i) => (i === t.feature ? range : x));
        return {
          type: 'split',
          feature: t.feature,
          threshold: t.threshold,
          left: onLeft(narrowed([lo, t.threshold])),
          right: onRight(narrowed([t.threshold + 1, hi])),
        };
      }
    }
  };

  const leaf = (n: PmmlNode): Grown => ({
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
  const at = (n: PmmlNode, r: Ranges): Grown => {
    if (n.children.length === 0) return leaf(n);
    const fallback: Branch = () => (doc.noTrueChildStrategy === 'returnLastPrediction' ? leaf(n) : noPrediction(n.where));
    const from = (i: number): Branch =>
      i === n.children.length ? fallback : (q) => cond(n.children[i]!.predicate, q, (s) => at(n.children[i]!, s), from(i + 1));
    return from(0)(r);
  };
  const full: Ranges = codings.quantizers.map((q) => [0, quantizerLevels(q) - 1] as const);
  return cond(doc.root.predicate, full, (r) => at(doc.root, r), () => noPrediction(doc.root.where));
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
    if (domain.kind === 'finite') doc.dataFields.get(field)!.values.forEach((v) => valueBits(domain, v, `DataField "${field}"`));
  }
  const approve = resolveApproveScore(doc, options.approveScore);
  const uses = collectLiterals(doc, resolver);
  const codings = buildCodings([...uses.values()]);
  let nodes: TreeNode[];
  try {
    nodes = flatten(collapse(buildTree(doc, uses, codings, approve)), FEATURE_NAMES);
  } catch (e) {
    // Long sibling chains recurse once per child; a hostile document must not crash the caller.
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new ModelError('unsupported_pmml', 'the tree nests too deeply to rebuild as binary splits', {});
    }
    throw e;
  }
  if (nodes.length > MAX_TREE_NODES) {
    throw new ModelError('unsupported_pmml', `the tree has ${nodes.length} nodes as binary splits; at most ${MAX_TREE_NODES} are supported`, {});
  }
  const depth = depthOf(nodes);
  if (depth > MAX_TREE_DEPTH) {
    throw new ModelError('unsupported_pmml', `the tree is ${depth} levels deep as binary splits; at most ${MAX_TREE_DEPTH} are supported`, {});
  }

  const inputs: EncryptedInput[] = FEATURE_NAMES.map((feature, f) => {
    const quantizer = codings.quantizers[f]!;
    const bits = bitsForLevels(quantizerLevels(quantizer));
    return { name: feature, feature, party: FEATURE_SPECS[feature].party, bits, digits: digitsForBits(bits), quantizer };
  });
  const tree = { kind: TREE_KIND, formatVersion: FORMAT_VERSION, nodes } as const;
  const metrics = options.evaluate
    ? { ...scoreModel(inputs, tree, options.evaluate), approvalRate: approvalRate(options.evaluate) }
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
  const name = (options.name ?? `${doc.modelName ?? 'Imported decision tree'} (PMML)`).slice(0, 200);
  const manifest = manifestBody(name, inputs, training);
  return { model: await sealModel(manifest, tree), metrics, fields };
}
