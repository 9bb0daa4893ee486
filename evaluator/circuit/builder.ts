/**
 * The circuit builder both compilers share (`compile.ts` for one tree, `compile-ensemble.ts`
 * for tree ensembles): hash-consed shortint ops with tfhe-rs metadata checks, linear forms over
 * bootstrapped bits, and the pass that keeps only the ops the outputs need.
 */
import { CircuitError } from './errors.ts';
import {
  correctingTerm,
  digitSanitizingTable,
  stepMetadata,
  type CircuitPlan,
  type Metadata,
  type PlanLimits,
  type PlanOp,
  type ValueId,
} from './plan.ts';

/** A path literal: a comparison bit taken as is (left edge) or negated (right edge). */
export interface Literal {
  readonly bit: ValueId;
  readonly positive: boolean;
}

/**
 * An integer-valued linear form over 0/1 bits, each of noise level 1: `c + Σ pos − Σ neg`.
 * Leaf indicators, their sums and the decision are all kept in this form until a PBS or an
 * output needs a ciphertext.
 */
export interface Lin {
  readonly c: number;
  readonly pos: readonly ValueId[];
  readonly neg: readonly ValueId[];
}

export const constant = (c: number): Lin => ({ c, pos: [], neg: [] });
export const isConstant = (l: Lin) => l.pos.length === 0 && l.neg.length === 0;
export const noiseOf = (l: Lin) => l.pos.length + l.neg.length;
export const addLins = (ls: readonly Lin[]): Lin => ({
  c: ls.reduce((s, l) => s + l.c, 0),
  pos: ls.flatMap((l) => l.pos),
  neg: ls.flatMap((l) => l.neg),
});
/** 1 − l. */
export const complement = (l: Lin): Lin => ({ c: 1 - l.c, pos: l.neg, neg: l.pos });

/** Emits ops with hash-consing (identical ops share one value) and metadata checks. */
export class Builder {
  readonly ops: PlanOp[] = [];
  readonly metadata: Metadata[] = [];
  readonly luts: number[][] = [];
  private readonly memo = new Map<string, ValueId>();
  private readonly lutIndex = new Map<string, number>();
  private readonly inputValues = new Map<string, ValueId>();
  readonly space: number;

  constructor(
    readonly limits: PlanLimits,
    private readonly digitsOf: ReadonlyMap<string, number>,
    private readonly levelsOf: ReadonlyMap<string, number>,
  ) {
    this.space = limits.messageModulus * limits.carryModulus;
  }

  private emit(op: PlanOp): ValueId {
    const key = JSON.stringify(op);
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    let m: Metadata;
    try {
      m = stepMetadata(op, (id) => this.metadata[id]!, this.luts, this.limits);
    } catch (e) {
      throw new CircuitError('uncompilable', `cannot compile: ${(e as Error).message}`);
    }
    this.ops.push(op);
    this.metadata.push(m);
    this.memo.set(key, this.ops.length - 1);
    return this.ops.length - 1;
  }

  meta(id: ValueId): Metadata {
    return this.metadata[id]!;
  }

  trivial(value: number): ValueId {
    return this.emit({ op: 'trivial', value });
  }

  add(a: ValueId, b: ValueId): ValueId {
    return this.emit({ op: 'add', a: Math.min(a, b), b: Math.max(a, b) });
  }

  sub(a: ValueId, b: ValueId): ValueId {
    return this.emit({ op: 'sub', a, b });
  }

  scalarMul(a: ValueId, c: number): ValueId {
    return c === 1 ? a : this.emit({ op: 'scalarMul', a, c });
  }

  scalarAdd(a: ValueId, c: number): ValueId {
    return c === 0 ? a : this.emit({ op: 'scalarAdd', a, c });
  }

  /** Σ ids, added in ascending order so equal sums share ops. */
  sum(ids: readonly ValueId[]): ValueId {
    const sorted = [...ids].sort((x, y) => x - y);
    let acc = sorted[0]!;
    for (const id of sorted.slice(1)) acc = this.add(acc, id);
    return acc;
  }

  pbs(a: ValueId, table: readonly number[]): ValueId {
    const key = table.join(',');
    let lut = this.lutIndex.get(key);
    if (lut === undefined) {
      lut = this.luts.length;
      this.luts.push([...table]);
      this.lutIndex.set(key, lut);
    }
    return this.emit({ op: 'pbs', a, lut });
  }

  /** The input's code as one ciphertext: `4·high + low` for two digits. */
  input(name: string): ValueId {
    const hit = this.inputValues.get(name);
    if (hit !== undefined) return hit;
    const digits = this.digitsOf.get(name);
    if (digits === undefined) throw new CircuitError('uncompilable', `the tree reads unknown input ${name}`);
    let acc = this.emit({ op: 'digit', input: name, digit: digits - 1 });
    for (let d = digits - 2; d >= 0; d--) {
      const shifted = this.emit({ op: 'scalarMul', a: acc, c: this.limits.messageModulus });
      acc = this.add(shifted, this.emit({ op: 'digit', input: name, digit: d }));
    }
    this.inputValues.set(name, acc);
    return acc;
  }

  /**
   * The literal `code(input) ≤ threshold`: one PBS on the input. A 1-bit input's digit is the bit
   * (`code ≤ 0` is `NOT digit`), but only once clamped to 0..1: an encrypted 2 or 3 would make
   * several leaves fire, and the decrypted outputs would reveal tree structure. The clamp is the
   * same PBS that sanitizes public-key digits, so those are not bootstrapped twice.
   */
  compare(input: string, threshold: number): Literal {
    if (this.levelsOf.get(input) === 2 && this.digitsOf.get(input) === 1) {
      const digit = this.emit({ op: 'digit', input, digit: 0 });
      return { bit: this.pbs(digit, digitSanitizingTable(2, 0, this.limits)), positive: false };
    }
    const table = Array.from({ length: this.space }, (_, v) => (v <= threshold ? 1 : 0));
    return { bit: this.pbs(this.input(input), table), positive: true };
  }

  /** Every term must hold 0 or 1 with noise level 1 (a bootstrapped bit). */
  private assertBits(l: Lin): void {
    for (const id of [...l.pos, ...l.neg]) {
      if (this.meta(id).noise !== 1) throw new CircuitError('uncompilable', `value ${id} is not a fresh bit`);
    }
  }

  private degreeSum(ids: readonly ValueId[]): number {
    return ids.reduce((s, id) => s + this.meta(id).degree, 0);
  }

  /** Whether l can be bootstrapped: noise and the degree of {@link linearInput} within limits. */
  fitsInput(l: Lin): boolean {
    const neg = l.neg.length > 0 ? correctingTerm(this.degreeSum(l.neg), this.limits) : 0;
    return noiseOf(l) <= this.limits.maxNoiseLevel && this.degreeSum(l.pos) + neg <= this.limits.maxDegree;
  }

  /** Whether l can be an output: noise and the degree of {@link output} within limits. */
  fitsOutput(l: Lin): boolean {
    const mm = this.limits.messageModulus;
    const neg = l.neg.length > 0 ? correctingTerm(this.degreeSum(l.neg), this.limits) : 0;
    const degree = this.degreeSum(l.pos) + neg + (((l.c % mm) + mm) % mm);
    return noiseOf(l) <= this.limits.maxNoiseLevel && degree <= this.limits.maxDegree;
  }

  /**
   * A ciphertext holding `Σ pos − Σ neg + offset` (the constant `c` left out, for a lookup table
   * to absorb); `offset` is the subtraction's correcting term, or 0.
   */
  private linearInput(l: Lin): { id: ValueId; offset: number } {
    this.assertBits(l);
    const p = l.pos.length > 0 ? this.sum(l.pos) : undefined;
    if (l.neg.length === 0) return { id: p!, offset: 0 };
    const n = this.sum(l.neg);
    const offset = correctingTerm(this.meta(n).degree, this.limits);
    return { id: this.sub(p ?? this.trivial(0), n), offset };
  }

  /** One PBS computing g(value of l), g into {0, 1}: a fresh bit. */
  bootstrapLin(l: Lin, g: (value: number) => number): ValueId {
    if (isConstant(l)) throw new CircuitError('uncompilable', 'internal: bootstrapping a constant');
    if (!this.fitsInput(l)) throw new CircuitError('uncompilable', 'internal: bootstrap input exceeds the limits');
    const { id, offset } = this.linearInput(l);
    const table = Array.from({ length: this.space }, (_, v) => {
      const terms = v - offset; // Σ pos − Σ neg
      return terms >= -l.neg.length && terms <= l.pos.length ? g(terms + l.c) : 0;
    });
    return this.pbs(id, table);
  }

  /** A ciphertext that decrypts (mod message modulus) to the value of l. */
  output(l: Lin): ValueId {
    const mm = this.limits.messageModulus;
    const c = ((l.c % mm) + mm) % mm;
    if (isConstant(l)) return this.trivial(c);
    this.assertBits(l);
    if (l.pos.length === 0) return this.sub(this.trivial(c), this.sum(l.neg));
    const p = this.sum(l.pos);
    const withNeg = l.neg.length > 0 ? this.sub(p, this.sum(l.neg)) : p;
    return this.scalarAdd(withNeg, c);
  }

  /** High-degree terms first, so merges absorb them; then by id, for determinism. */
  private byDegree = (x: ValueId, y: ValueId) => this.meta(y).degree - this.meta(x).degree || x - y;

  /** AND of literals as a linear form of noise ≤ 1 (a bit, a negated bit, or a constant). */
  conjunction(literals: readonly Literal[]): Lin {
    const byBit = new Map<ValueId, boolean>();
    for (const lit of literals) {
      const seen = byBit.get(lit.bit);
      if (seen !== undefined && seen !== lit.positive) return constant(0);
      byBit.set(lit.bit, lit.positive);
    }
    let lits: Literal[] = [...byBit].map(([bit, positive]) => ({ bit, positive })).sort((x, y) => this.byDegree(x.bit, y.bit));
    if (lits.length === 0) return constant(1);
    if (lits.length === 1) return literalLin(lits[0]!);
    const sumOf = (chunk: readonly Literal[]) => addLins(chunk.map(literalLin));
    const and = (chunk: readonly Literal[]) => this.bootstrapLin(sumOf(chunk), (s) => (s === chunk.length ? 1 : 0));
    // Paths beyond the noise (or degree) budget: AND the longest prefix that fits, then go on.
    while (!this.fitsInput(sumOf(lits))) {
      let k = Math.min(lits.length - 1, this.limits.maxNoiseLevel);
      while (k > 2 && !this.fitsInput(sumOf(lits.slice(0, k)))) k--;
      lits = [{ bit: and(lits.slice(0, k)), positive: true }, ...lits.slice(k)];
    }
    return { c: 0, pos: [and(lits)], neg: [] };
  }

  /**
   * The sum of mutually exclusive 0/1 forms (at most one is 1), merging groups with a PBS each
   * (the group's sum, itself 0 or 1) until `accept` takes the total.
   */
  exclusiveSum(terms: readonly Lin[], accept: (sum: Lin) => boolean): Lin {
    let items = terms.filter((t) => !(isConstant(t) && t.c === 0));
    if (items.some((t) => isConstant(t))) return constant(1);
    const degree = (t: Lin) => this.degreeSum([...t.pos, ...t.neg]);
    items.sort((x, y) => degree(y) - degree(x));
    while (!accept(addLins(items))) {
      let k = Math.min(items.length, this.limits.maxNoiseLevel);
      while (k > 2 && !this.fitsInput(addLins(items.slice(0, k)))) k--;
      if (k < 2) throw new CircuitError('uncompilable', 'internal: nothing left to merge');
      const merged = this.bootstrapLin(addLins(items.slice(0, k)), (s) => (s === 1 ? 1 : 0));
      items = [...items.slice(k), { c: 0, pos: [merged], neg: [] }];
    }
    return addLins(items);
  }
}

export const literalLin = (lit: Literal): Lin => (lit.positive ? { c: 0, pos: [lit.bit], neg: [] } : { c: 1, pos: [], neg: [lit.bit] });
export const negate = (lit: Literal): Literal => ({ bit: lit.bit, positive: !lit.positive });

/** Keeps only the ops the outputs depend on, renumbered, and the tables they use. */
export function prune(b: Builder, outputs: CircuitPlan['outputs']) {
  const live = new Array<boolean>(b.ops.length).fill(false);
  const mark = (id: ValueId) => {
    const stack = [id];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (live[i]) continue;
      live[i] = true;
      const op = b.ops[i]!;
      if ('a' in op) stack.push(op.a);
      if ('b' in op) stack.push(op.b);
    }
  };
  mark(outputs.decision);
  outputs.explanation.forEach(mark);
  const newId = new Map<ValueId, ValueId>();
  const lutId = new Map<number, number>();
  const ops: PlanOp[] = [];
  const metadata: Metadata[] = [];
  const luts: number[][] = [];
  b.ops.forEach((op, i) => {
    if (!live[i]) return;
    let next: PlanOp = op;
    if (op.op === 'pbs') {
      if (!lutId.has(op.lut)) {
        lutId.set(op.lut, luts.length);
        luts.push(b.luts[op.lut]!);
      }
      next = { op: 'pbs', a: newId.get(op.a)!, lut: lutId.get(op.lut)! };
    } else if (op.op === 'add' || op.op === 'sub') {
      next = { ...op, a: newId.get(op.a)!, b: newId.get(op.b)! };
    } else if (op.op === 'scalarAdd' || op.op === 'scalarMul') {
      next = { ...op, a: newId.get(op.a)! };
    }
    newId.set(i, ops.length);
    ops.push(next);
    metadata.push(b.metadata[i]!);
  });
  return {
    ops,
    metadata,
    luts,
    outputs: { decision: newId.get(outputs.decision)!, explanation: outputs.explanation.map((o) => newId.get(o)!) },
  };
}

export function pbsDepth(ops: readonly PlanOp[]): number {
  const depth: number[] = [];
  let max = 0;
  ops.forEach((op, i) => {
    const d = Math.max('a' in op ? depth[op.a]! : 0, 'b' in op ? depth[op.b]! : 0) + (op.op === 'pbs' ? 1 : 0);
    depth[i] = d;
    max = Math.max(max, d);
  });
  return max;
}

export const countPbs = (ops: readonly PlanOp[]) => ops.filter((o) => o.op === 'pbs').length;
