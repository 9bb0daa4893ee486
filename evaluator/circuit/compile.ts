/**
 * Compiles a decision tree into a {@link CircuitPlan} with as few bootstraps as we know how.
 *
 * Circuit (Concrete ML style, adapted to tfhe-rs shortint limits: values 0..15, noise level ≤ 5):
 * - an input is its digit ciphertexts recombined linearly, `4·high + low` (degree 15, noise 5);
 * - each distinct comparison `code ≤ t` is one PBS on the input, a bit b (a 1-bit input's digit
 *   already is that bit, negated, and costs no PBS);
 * - a leaf's reach is one PBS on the sum of its path literals: `b` on a left edge, `1 − b` on a
 *   right edge. The `1 − b` terms are gathered into one tfhe-rs subtraction per leaf, whose
 *   correcting term the lookup table absorbs, so no extra PBS pays for polarity. Paths longer
 *   than the noise budget are split into chunks of ≤ 5 literals, each ANDed by a PBS first;
 * - the decision is the sum of the reached leaves of one class (at most one leaf is reached, so
 *   the sum is 0 or 1): approving leaves, or denying leaves subtracted from 1, whichever needs
 *   fewer PBS. Sums are grouped so no ciphertext exceeds the noise budget (≤ 5 indicators, PBS,
 *   sum again);
 * - explanation, for each candidate bin c of the explanation input (years employed): nodes on
 *   that input become constants (`c ≤ t`), leaves they exclude are pruned, and only leaves whose
 *   path crossed such a node need a new reach PBS (shared by every bin they are consistent with).
 *   The bit for bin c is `approve(c) AND [own ≤ c]`, one PBS on `approve(c) + [own ≤ c]`, where
 *   `[own ≤ c]` is a comparison PBS on the encrypted own bin (shared with tree nodes on the same
 *   threshold). For the last bin, `[own ≤ c]` always holds and is folded away. Inputs the
 *   explanation assumes (`explanation.assume`: employed = 1) fold to their codes the same way;
 *   the decision itself reads them as given.
 *
 * The output ciphertexts decrypt (mod message modulus, as `Shortint.decrypt` does) to 0 or 1.
 */
import { isEnsembleModel, type AnyModel, type Model } from '../../model/private-model.ts';
import { quantizerLevels } from '../../model/quantize.ts';
import {
  Builder,
  addLins,
  complement,
  constant,
  countPbs,
  isConstant,
  literalLin,
  negate,
  pbsDepth,
  prune,
  type Lin,
  type Literal,
} from './builder.ts';
import { compileEnsembleCircuit } from './compile-ensemble.ts';
import { LIMITS_2_2, checkPlan, digitSanitizingTable, selfSanitizedDigits, type CircuitPlan, type ValueId } from './plan.ts';

export interface CompileOptions {
  /** Sum approving leaves, or subtract denying leaves from 1; `auto` picks the fewer PBS. */
  leafClass?: 'auto' | 'approve' | 'deny';
  /** Compute the explanation bits (default true). Without, the plan has no explanation outputs. */
  explain?: boolean;
}

/**
 * Inputs folded to public codes: the explanation input to a bin, and the inputs the explanation
 * assumes (`manifest.explanation.assume`, e.g. employed = 1).
 */
type Fold = ReadonlyMap<string, number>;

/** The leaves of one class with the literals of their paths (folded nodes drop out or prune). */
function leafLiterals(model: Model, b: Builder, leafDecision: 0 | 1, fold?: Fold): Literal[][] {
  const out: Literal[][] = [];
  const nodes = model.tree.nodes;
  const walk = (i: number, path: Literal[]) => {
    const node = nodes[i]!;
    if (node.type === 'leaf') {
      if (node.decision === leafDecision) out.push(path);
      return;
    }
    const folded = fold?.get(node.input);
    if (folded !== undefined) {
      walk(folded <= node.threshold ? node.left : node.right, path);
      return;
    }
    const le = b.compare(node.input, node.threshold);
    walk(node.left, [...path, le]);
    walk(node.right, [...path, negate(le)]);
  };
  walk(0, []);
  return out;
}

function build(model: Model, leafClass: 'approve' | 'deny', explain: boolean): { b: Builder; outputs: CircuitPlan['outputs'] } {
  const limits = LIMITS_2_2;
  const inputs = model.manifest.inputs;
  const b = new Builder(
    limits,
    new Map(inputs.map((i) => [i.name, i.digits])),
    new Map(inputs.map((i) => [i.name, quantizerLevels(i.quantizer)])),
  );
  const leafDecision = leafClass === 'approve' ? 1 : 0;
  const asApproval = (s: Lin) => (leafClass === 'approve' ? s : complement(s));

  const asOutput = (s: Lin) => b.fitsOutput(asApproval(s));
  const decisionLeaves = leafLiterals(model, b, leafDecision).map((lits) => b.conjunction(lits));
  const decision = b.output(asApproval(b.exclusiveSum(decisionLeaves, asOutput)));

  const explanation: ValueId[] = [];
  if (explain) {
    const ex = model.manifest.explanation;
    const exInput = inputs.find((i) => i.name === ex.input)!;
    const lastCode = quantizerLevels(exInput.quantizer) - 1;
    for (const bin of ex.bins) {
      const fold = new Map([...(ex.assume ?? []).map((a) => [a.input, a.code] as const), [ex.input, bin.code]]);
      const leaves = leafLiterals(model, b, leafDecision, fold).map((lits) => b.conjunction(lits));
      // The last bin is ≥ every valid own bin: no mask, the whole budget goes to the sum.
      if (bin.code >= lastCode) {
        explanation.push(b.output(asApproval(b.exclusiveSum(leaves, asOutput))));
        continue;
      }
      const mask = literalLin(b.compare(ex.input, bin.code));
      const approve = asApproval(b.exclusiveSum(leaves, (s) => b.fitsInput(addLins([asApproval(s), mask]))));
      if (isConstant(approve)) {
        explanation.push(b.output(approve.c === 0 ? constant(0) : mask));
      } else {
        explanation.push(b.bootstrapLin(addLins([approve, mask]), (s) => (s === 2 ? 1 : 0)));
      }
    }
  }
  return { b, outputs: { decision, explanation } };
}

function assemble(model: Model, leafClass: 'approve' | 'deny', explain: boolean) {
  const { b, outputs } = build(model, leafClass, explain);
  return prune(b, outputs);
}

/**
 * Compiles a loaded model into a checked plan.
 * @throws CircuitError `uncompilable` when the tree cannot fit the parameter set's limits.
 */
export function compileCircuit(model: AnyModel, options: CompileOptions = {}): CircuitPlan {
  if (isEnsembleModel(model)) return compileEnsembleCircuit(model, options);
  const explain = options.explain ?? true;
  const classes: ('approve' | 'deny')[] =
    (options.leafClass ?? 'auto') === 'auto' ? ['approve', 'deny'] : [options.leafClass as 'approve' | 'deny'];
  const candidates = classes.map((leafClass) => ({ leafClass, built: assemble(model, leafClass, explain) }));
  // Fewest PBS first, then fewest ops; approve wins ties (candidates are in that order).
  candidates.sort((x, y) => countPbs(x.built.ops) - countPbs(y.built.ops) || x.built.ops.length - y.built.ops.length);
  const { leafClass, built } = candidates[0]!;
  const pbs = countPbs(built.ops);
  const pbsDecision = explain ? countPbs(assemble(model, leafClass, false).ops) : pbs;
  const ex = model.manifest.explanation;
  const levels = new Map(model.manifest.inputs.map((i) => [i.name, quantizerLevels(i.quantizer)]));
  const sanitizeTable = (input: string, digit: number) => digitSanitizingTable(levels.get(input)!, digit, LIMITS_2_2);
  const plan: CircuitPlan = {
    formatVersion: 1,
    modelVersion: model.manifest.modelVersion,
    limits: LIMITS_2_2,
    inputs: model.manifest.inputs.map((i) => ({ name: i.name, party: i.party, digits: i.digits, levels: quantizerLevels(i.quantizer) })),
    luts: built.luts,
    ops: built.ops,
    metadata: built.metadata,
    outputs: built.outputs,
    explanationBins: explain ? ex.bins.map((bin) => ({ code: bin.code, label: bin.label })) : [],
    stats: {
      pbs,
      pbsDecision,
      pbsExplanation: pbs - pbsDecision,
      pbsSanitize: selfSanitizedDigits(built, sanitizeTable).size,
      pbsDepth: pbsDepth(built.ops),
      linear: built.ops.filter((o) => o.op !== 'pbs' && o.op !== 'digit').length,
      leafClass,
    },
  };
  checkPlan(plan);
  return plan;
}
