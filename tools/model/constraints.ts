/**
 * The bank's policy constraints on a decision tree, and their exact verification on an artifact:
 *
 * - **increasing**: approval never decreases when one of these features increases, everything
 *   else equal (the demo: income, account age, years employed, employment status);
 * - **protected age**: no applicant aged `protectedAge` or over gets a worse decision than the same
 *   applicant one year younger (US ECOA Regulation B, 12 CFR 1002.6(b)(2): an empirically derived
 *   scoring system may not assign a negative factor to applicants aged 62 or over);
 * - **income floor**: below it the decision is "denied", whatever the rest.
 *
 * The trainer enforces them while growing (`cart.ts`); {@link checkConstraints} proves them on
 * any tree (trained or imported) by comparing leaf boxes, not by sampling: a tree partitions the
 * code grid into boxes (one per leaf), and a rule is broken exactly when an approving box and a
 * denying box overlap on every other input and the denying one reaches higher on the rule's input.
 * Each violation comes with an example pair of applicants (as code ranges in raw units).
 *
 * Browser-safe.
 */
import { YEARS_EMPLOYED_BINS, type FeatureName } from '../../model/features.ts';
import type { ManifestBody } from '../../model/manifest.ts';
import type { TreeBody } from '../../model/private-model.ts';
import { quantizerLevels, quantizeValue, type EncryptedInput } from '../../model/quantize.ts';

/** The policy a model must satisfy. Part of the model config (`DEMO_RECIPE.policy` for the demo). */
export interface ModelPolicy {
  /** Features along which approval must never decrease. */
  increasing: readonly FeatureName[];
  /** From this age on, no applicant is treated worse than at the age before; null: no rule. */
  protectedAge: number | null;
  /** Yearly income below which every applicant is denied; null: no floor. */
  incomeFloor: number | null;
}

/** The features whose increase must never lower approval, by default. */
export const INCREASING_FEATURES: readonly FeatureName[] = ['total_income', 'account_age', 'years_employed', 'employed'];

/** The policy `--check` applies to a tree whose record names none. */
export const DEFAULT_POLICY: ModelPolicy = { increasing: INCREASING_FEATURES, protectedAge: 62, incomeFloor: null };

export interface ConstraintViolation {
  rule: 'increasing' | 'protected_age' | 'income_floor' | 'unordered_codes';
  input: string;
  /** One sentence with an example pair (or applicant) that breaks the rule. */
  message: string;
}

export interface RuleCount {
  rule: ConstraintViolation['rule'];
  input: string;
  /** Pairs of (approving, denying) leaves whose boxes could hold a counter-example, all examined. */
  leafPairs: number;
  violations: number;
}

export interface ConstraintReport {
  violations: ConstraintViolation[];
  counts: RuleCount[];
  /** Combinations of the codes of the inputs the tree reads: what the box check covers. */
  combinations: number;
}

type Box = Map<string, [number, number]>;
interface Leaf {
  decision: 0 | 1;
  box: Box;
}

function leafBoxes(tree: Pick<TreeBody, 'nodes'>, levels: ReadonlyMap<string, number>): Leaf[] {
  const out: Leaf[] = [];
  const walk = (i: number, box: Box) => {
    const node = tree.nodes[i]!;
    if (node.type === 'leaf') {
      out.push({ decision: node.decision, box });
      return;
    }
    const [lo, hi] = box.get(node.input) ?? [0, (levels.get(node.input) ?? 1) - 1];
    if (lo <= node.threshold) walk(node.left, new Map(box).set(node.input, [lo, Math.min(hi, node.threshold)]));
    if (hi > node.threshold) walk(node.right, new Map(box).set(node.input, [Math.max(lo, node.threshold + 1), hi]));
  };
  walk(0, new Map());
  return out;
}

const range = (box: Box, input: string, levels: ReadonlyMap<string, number>): [number, number] =>
  box.get(input) ?? [0, (levels.get(input) ?? 1) - 1];

/** The common codes of two boxes on every input but `except`, or null when they do not overlap. */
function overlap(a: Box, b: Box, except: string, levels: ReadonlyMap<string, number>): Box | null {
  const out: Box = new Map();
  for (const input of new Set([...a.keys(), ...b.keys()])) {
    if (input === except) continue;
    const [al, ah] = range(a, input, levels);
    const [bl, bh] = range(b, input, levels);
    const lo = Math.max(al, bl);
    const hi = Math.min(ah, bh);
    if (lo > hi) return null;
    out.set(input, [lo, hi]);
  }
  return out;
}

/** A code of an input in raw terms: `22000 ≤ total_income < 26000`, `employed = true`, `years_employed = 5-8`. */
export function describeCode(input: EncryptedInput, code: number): string {
  const q = input.quantizer;
  switch (q.kind) {
    case 'boolean':
      return `${input.feature} = ${code === 1}`;
    case 'thresholds': {
      const lo = code > 0 ? `${q.cuts[code - 1]} ≤ ` : '';
      const hi = code < q.cuts.length ? ` < ${q.cuts[code]}` : '';
      return lo === '' && hi === '' ? `any ${input.feature}` : `${lo}${input.feature}${hi}`;
    }
    case 'category': {
      const values = Object.entries(q.codes)
        .filter(([, c]) => c === code)
        .map(([v]) => v);
      return `${input.feature} = ${values.length === 1 ? values[0] : `one of ${values.join(' / ')}`}`;
    }
  }
}

function describeBox(box: Box, inputs: ReadonlyMap<string, EncryptedInput>): string {
  const parts = [...box].map(([name, [lo]]) => describeCode(inputs.get(name)!, lo));
  return parts.length === 0 ? 'whatever the other answers' : `with ${parts.join(', ')}`;
}

/** True when the input's codes follow the feature's natural order (so "higher code" means "more"). */
function ordered(input: EncryptedInput): boolean {
  const q = input.quantizer;
  if (q.kind !== 'category') return true;
  if (input.feature !== 'years_employed') return false;
  return YEARS_EMPLOYED_BINS.every((bin, i) => i === 0 || q.codes[bin]! >= q.codes[YEARS_EMPLOYED_BINS[i - 1]!]!);
}

/**
 * Checks a tree against a policy, exactly (every combination of the inputs' codes).
 * @returns the violations (empty when the tree satisfies the policy) and the counts of what was checked.
 */
export function checkConstraints(
  manifest: Pick<ManifestBody, 'inputs'>,
  tree: Pick<TreeBody, 'nodes'>,
  policy: ModelPolicy,
): ConstraintReport {
  const inputs = new Map(manifest.inputs.map((i) => [i.name, i]));
  const levels = new Map(manifest.inputs.map((i) => [i.name, quantizerLevels(i.quantizer)]));
  const leaves = leafBoxes(tree, levels);
  const approving = leaves.filter((l) => l.decision === 1);
  const denying = leaves.filter((l) => l.decision === 0);
  const read = new Set(tree.nodes.flatMap((n) => (n.type === 'split' ? [n.input] : [])));
  const violations: ConstraintViolation[] = [];
  const counts: RuleCount[] = [];

  /** Approving leaf at code ≤ `a`, denying leaf at a code in [`from`, …] above it, same other answers. */
  const compare = (
    rule: 'increasing' | 'protected_age',
    input: EncryptedInput,
    lowerCodes: (a: [number, number]) => number | null,
    higherCode: (d: [number, number], lower: number) => number | null,
    say: (lower: string, higher: string, rest: string) => string,
  ) => {
    const count: RuleCount = { rule, input: input.name, leafPairs: 0, violations: 0 };
    for (const a of approving) {
      const lower = lowerCodes(range(a.box, input.name, levels));
      if (lower === null) continue;
      for (const d of denying) {
        const rest = overlap(a.box, d.box, input.name, levels);
        if (rest === null) continue;
        count.leafPairs++;
        const higher = higherCode(range(d.box, input.name, levels), lower);
        if (higher === null) continue;
        count.violations++;
        if (count.violations === 1) {
          violations.push({
            rule,
            input: input.name,
            message: say(describeCode(input, lower), describeCode(input, higher), describeBox(rest, inputs)),
          });
        }
      }
    }
    counts.push(count);
  };

  for (const feature of policy.increasing) {
    for (const input of manifest.inputs.filter((i) => i.feature === feature && read.has(i.name))) {
      if (!ordered(input)) {
        violations.push({
          rule: 'unordered_codes',
          input: input.name,
          message: `${input.name}: codes do not follow the order of ${feature}`,
        });
        continue;
      }
      compare(
        'increasing',
        input,
        ([lo]) => lo,
        ([, hi], lower) => (hi > lower ? hi : null),
        (lower, higher, rest) => `approval falls as ${feature} rises: ${rest}, ${lower} is approved but ${higher} is denied`,
      );
    }
  }

  if (policy.protectedAge !== null) {
    const age = policy.protectedAge;
    for (const input of manifest.inputs.filter((i) => i.feature === 'age' && read.has(i.name))) {
      const before = quantizeValue(input.quantizer, age - 1, 'age');
      const from = quantizeValue(input.quantizer, age, 'age');
      // Ages ≥ `age` sharing the code of `age − 1` get its decision: only higher codes can differ.
      const firstProtected = from === before ? from + 1 : from;
      compare(
        'protected_age',
        input,
        ([lo, hi]) => (lo <= before && before <= hi ? before : null),
        ([, hi]) => (hi >= firstProtected ? hi : null),
        (lower, higher, rest) =>
          `an applicant aged ${age} or over is treated worse than at ${age - 1}: ${rest}, ${lower} (age ${age - 1}) is approved but ${higher} is denied`,
      );
    }
  }

  if (policy.incomeFloor !== null) {
    const floor = policy.incomeFloor;
    const income = manifest.inputs.find((i) => i.feature === 'total_income' && i.quantizer.kind === 'thresholds');
    const count: RuleCount = { rule: 'income_floor', input: income?.name ?? 'total_income', leafPairs: approving.length, violations: 0 };
    if (income === undefined || income.quantizer.kind !== 'thresholds') {
      count.violations = approving.length;
      if (approving.length > 0) {
        violations.push({
          rule: 'income_floor',
          input: 'total_income',
          message: `the tree approves some applicants but does not read total_income, so it cannot deny those below ${floor}`,
        });
      }
    } else {
      // The largest code that holds an income below the floor.
      const atFloor = quantizeValue(income.quantizer, floor, 'total_income');
      const belowFloor = income.quantizer.cuts.includes(floor) ? atFloor - 1 : atFloor;
      for (const a of approving) {
        const [lo] = range(a.box, income.name, levels);
        if (lo > belowFloor) continue;
        count.violations++;
        if (count.violations === 1) {
          violations.push({
            rule: 'income_floor',
            input: income.name,
            message: `an income below the floor of ${floor} is approved: ${describeCode(income, lo)}, ${describeBox(new Map([...a.box].filter(([n]) => n !== income.name)), inputs)}`,
          });
        }
      }
    }
    counts.push(count);
  }

  const combinations = [...read].reduce((p, name) => p * (levels.get(name) ?? 1), 1);
  return { violations, counts, combinations };
}
