/**
 * Codings for an imported tree: how each feature's raw values become codes so that every split
 * of the tree is one comparison `code ≤ t`.
 *
 * - Numeric features: the code counts the cut points ≤ x, cut exactly at the tree's thresholds
 *   (at most 15: 4 bits). Every literal `x < cut` is then `code ≤ index(cut)`.
 * - Booleans and years employed keep their order (false < true; bins in order, which the
 *   explanation compares): at each split, the values that satisfy it among those that can reach
 *   it must be a run at one end of them.
 * - Other categories get an order of value groups found here. A split at a node that values `R`
 *   can reach, true for `A ⊆ R`, is `code ≤ t` (or its negation) iff `A` and `R \ A` are both
 *   runs of the order (then one is a prefix of `R`). So the order must make every such set
 *   consecutive: the consecutive-ones problem, solved exactly over the groups of values no split
 *   tells apart (at most 16 of them, else the feature does not fit 4 bits) by a search over
 *   (placed groups, last group) states, each visited at most once.
 *
 * Browser-safe.
 */
import { ModelError } from '../../model/errors.ts';
import { EXPLANATION_FEATURE } from './fit-quantizers.ts';
import type { FeatureName } from '../../model/features.ts';
import { domainOf, type Literal } from './pmml-fields.ts';
import { MAX_CODE } from '../../model/quantize.ts';

/** A literal found in the document, and where, for error messages. */
export interface Use {
  literal: Literal;
  /** The node, e.g. `Node "7"`. */
  where: string;
  /** The PMML data field it reads. */
  field: string;
}

/** A split on a boolean or categorical feature: of the values `within` that reach it, `yes` satisfy it. */
export interface FiniteSplit {
  within: number;
  yes: number;
  use: Use;
}

/** Bound on the order search's steps (it is exact; this only stops hostile families). */
const MAX_SEARCH_STEPS = 20_000_000;

/** The nodes of some uses, for a message: distinct, at most eight. */
export function places(uses: readonly Use[]): string {
  const all = [...new Set(uses.map((u) => u.where))];
  return all.length > 8 ? `${all.slice(0, 8).join(', ')} and ${all.length - 8} more` : all.join(', ');
}

/** A feature and the PMML field(s) it was read from, e.g. `age (field "Age")`. */
export function named(feature: FeatureName, uses: readonly Use[]): string {
  const fields = [...new Set(uses.map((u) => JSON.stringify(u.field)))];
  return fields.length === 0 ? feature : `${feature} (field ${fields.join(', ')})`;
}

const bit = (i: number) => 1 << i;
const lowest = (mask: number) => mask & -mask;
/** A non-empty run of consecutive bits. */
const isRun = (mask: number) => mask !== 0 && ((mask / lowest(mask) + 1) & (mask / lowest(mask))) === 0;

function describeSet(feature: FeatureName, members: number): string {
  const d = domainOf(feature);
  return d.kind === 'finite'
    ? `{${d.values
        .filter((_, i) => members & bit(i))
        .map((v) => v.label)
        .join(', ')}}`
    : '';
}

/**
 * The cut points of a numeric feature: the distinct cuts of its literals, ascending.
 * @throws ModelError `too_many_thresholds` beyond 15.
 */
export function numericCuts(feature: FeatureName, uses: readonly Use[]): number[] {
  const cuts = [...new Set(uses.map((u) => (u.literal as Literal & { kind: 'numeric' }).cut))].sort((a, b) => a - b);
  if (cuts.length > MAX_CODE) {
    throw new ModelError(
      'too_many_thresholds',
      `${named(feature, uses)}: the tree uses ${cuts.length} distinct thresholds on it (at ${places(uses)}); a 4-bit input holds at most ${MAX_CODE}`,
      { feature, thresholds: cuts.length },
    );
  }
  return cuts;
}

/** Fixed order: every split's `yes` must be a run at one end of `within`. */
function checkFixedOrder(feature: FeatureName, splits: readonly FiniteSplit[]): void {
  for (const s of splits) {
    const no = s.within & ~s.yes;
    const ok = isRun(s.within) && isRun(s.yes) && isRun(no);
    if (!ok) {
      throw new ModelError(
        'unrepresentable_split',
        `${s.use.where}: the split ${describeSet(feature, s.yes)} of ${describeSet(feature, s.within)} on ${named(feature, [s.use])} is not a threshold in the order of its values` +
          (feature === EXPLANATION_FEATURE ? ' (years employed keeps its bin order: the explanation compares bins)' : ''),
        { where: s.use.where, feature },
      );
    }
  }
}

/**
 * An order of `k` groups in which every set of `family` (group bit masks) is consecutive, or
 * null. Depth-first over (placed, last) states; a state that failed once is not tried again.
 */
function consecutiveOrder(k: number, family: readonly number[], budget: { steps: number }): number[] | null {
  const full = bit(k) - 1;
  const failed = new Uint8Array((full + 1) * (k + 1));
  const order: number[] = [];
  const fits = (placed: number, last: number, x: number): boolean => {
    for (const s of family) {
      if (--budget.steps < 0) return false;
      const hasLast = last >= 0 && (s & bit(last)) !== 0;
      // Joining a set already begun needs its run still open; leaving one needs it complete.
      if (s & bit(x)) {
        if (s & placed && !hasLast) return false;
      } else if (hasLast && (s & ~placed) !== 0) return false;
    }
    return true;
  };
  const search = (placed: number, last: number): boolean => {
    if (placed === full) return true;
    const state = placed * (k + 1) + last + 1;
    if (failed[state]) return false;
    for (let x = 0; x < k; x++) {
      if (placed & bit(x) || !fits(placed, last, x)) continue;
      order.push(x);
      if (search(placed | bit(x), x)) return true;
      order.pop();
    }
    failed[state] = 1;
    return false;
  };
  return search(0, -1) ? order : null;
}

/**
 * Codes for the values of a boolean or categorical feature (indexed like the feature's values)
 * under which every split is `code ≤ t` within the codes that reach it.
 * @throws ModelError `unrepresentable_split` | `too_many_thresholds` | `unsupported_pmml`.
 */
export function finiteCodes(feature: FeatureName, splits: readonly FiniteSplit[]): number[] {
  const domain = domainOf(feature);
  if (domain.kind !== 'finite') throw new TypeError(`${feature} is not a finite feature`);
  const n = domain.values.length;
  if (domain.fixedOrder) {
    checkFixedOrder(feature, splits);
    return domain.values.map((_, i) => i);
  }
  const all = bit(n) - 1;
  const sets = [...new Set(splits.flatMap((s) => [s.within, s.yes, s.within & ~s.yes]))].filter((m) => m !== all);
  // Groups: values with the same membership in every set; no split tells them apart.
  const signature = (v: number) => sets.map((m) => (m & bit(v) ? '1' : '0')).join('');
  const groupOf = new Map<string, number>();
  const group = domain.values.map((_, v) => {
    const key = signature(v);
    if (!groupOf.has(key)) groupOf.set(key, groupOf.size);
    return groupOf.get(key)!;
  });
  const k = groupOf.size;
  const uses = splits.map((s) => s.use);
  if (k > MAX_CODE + 1) {
    throw new ModelError(
      'too_many_thresholds',
      `${named(feature, uses)}: the tree's splits (at ${places(uses)}) tell ${k} groups of values apart; a 4-bit input holds at most ${MAX_CODE + 1}`,
      { feature, groups: k },
    );
  }
  const toGroups = (m: number) => domain.values.reduce((acc, _, v) => (m & bit(v) ? acc | bit(group[v]!) : acc), 0);
  const familyOf = (ss: readonly FiniteSplit[]) => [
    ...new Set(
      ss.flatMap((s) => [s.within, s.yes, s.within & ~s.yes].map(toGroups)).filter((m) => m !== bit(k) - 1 && (m & (m - 1)) !== 0),
    ),
  ];
  const budget = { steps: MAX_SEARCH_STEPS };
  const order = consecutiveOrder(k, familyOf(splits), budget);
  if (order) {
    const position = new Map(order.map((g, i) => [g, i]));
    return group.map((g) => position.get(g)!);
  }
  if (budget.steps < 0) {
    throw new ModelError('unsupported_pmml', `${named(feature, uses)}: no coding found within the search budget (at ${places(uses)})`, {
      feature,
    });
  }
  // Name two splits that cannot both be thresholds, if two suffice.
  for (let i = 0; i < splits.length; i++) {
    for (let j = i + 1; j < splits.length; j++) {
      if (consecutiveOrder(k, familyOf([splits[i]!, splits[j]!]), { steps: MAX_SEARCH_STEPS }) === null) {
        const [a, b] = [splits[i]!, splits[j]!];
        throw new ModelError(
          'unrepresentable_split',
          `${named(feature, uses)}: the splits ${describeSet(feature, a.yes)} at ${a.use.where} and ${describeSet(feature, b.yes)} at ${b.use.where} cross (of the values reaching each), so no coding makes both a threshold \`code ≤ t\``,
          { feature, where: [a.use.where, b.use.where] },
        );
      }
    }
  }
  throw new ModelError(
    'unrepresentable_split',
    `${named(feature, uses)}: no order of its values makes every split a threshold (at ${places(uses)})`,
    { feature, where: uses.map((u) => u.where) },
  );
}
