/**
 * A compiled circuit: a straight-line program of shortint operations over the uploaded digit
 * ciphertexts. Value `i` is the result of `ops[i]`; operands always refer to earlier values.
 *
 * The same plan runs three ways: on integers by the simulator (`simulate.ts`), on ciphertexts by
 * the runner (`run.ts`), and it is checked by both. Every op follows tfhe-rs's degree and
 * noise-level rules (see {@link stepMetadata}); a plan in which some value would exceed the
 * parameter set's `maxDegree` or `maxNoiseLevel` is refused, as tfhe-rs's checked ops refuse.
 */
import type { Party } from '../../protocol/ciphertexts.ts';
import { CircuitError } from './errors.ts';

export type ValueId = number;

export type PlanOp =
  /** An uploaded 2-bit digit ciphertext of an input (fresh encryption: degree 3, noise 1). */
  | { readonly op: 'digit'; readonly input: string; readonly digit: number }
  /** A trivial encryption of a constant 0..messageModulus−1 (noise 0). */
  | { readonly op: 'trivial'; readonly value: number }
  | { readonly op: 'add'; readonly a: ValueId; readonly b: ValueId }
  /** a − b with tfhe-rs's correcting term: a + z − b, z the smallest multiple of the message modulus ≥ max(degree(b), 1). */
  | { readonly op: 'sub'; readonly a: ValueId; readonly b: ValueId }
  | { readonly op: 'scalarMul'; readonly a: ValueId; readonly c: number }
  | { readonly op: 'scalarAdd'; readonly a: ValueId; readonly c: number }
  /** Programmable bootstrap of value `a` with `luts[lut]`. */
  | { readonly op: 'pbs'; readonly a: ValueId; readonly lut: number };

/** Degree (largest value a ciphertext may hold) and noise level, tracked as tfhe-rs does. */
export interface Metadata {
  readonly degree: number;
  readonly noise: number;
}

/** The parameter-set facts a plan depends on. */
export interface PlanLimits {
  readonly messageModulus: number;
  readonly carryModulus: number;
  readonly maxDegree: number;
  readonly maxNoiseLevel: number;
}

/** The 2_2 parameter sets (message 4, carry 4): values 0..15, noise level ≤ 5. */
export const LIMITS_2_2: PlanLimits = { messageModulus: 4, carryModulus: 4, maxDegree: 15, maxNoiseLevel: 5 };

export interface PlanInput {
  readonly name: string;
  readonly party: Party;
  readonly digits: number;
  /** Codes the input can take (its quantizer's levels): what sanitizing clamps a digit to. */
  readonly levels: number;
}

export interface PlanStats {
  /** Bootstraps in the whole plan (decision + explanation). */
  readonly pbs: number;
  /** Bootstraps a decision-only plan of the same model needs. */
  readonly pbsDecision: number;
  /** Bootstraps the explanation adds: `pbs − pbsDecision`. */
  readonly pbsExplanation: number;
  /**
   * Of `pbs`, the bootstraps that clamp an uploaded digit into its input's range before the
   * digit is used directly as a bit (1-bit inputs; see {@link digitSanitizingTable}).
   */
  readonly pbsSanitize: number;
  /** Longest chain of dependent bootstraps (the parallel critical path). */
  readonly pbsDepth: number;
  /** Linear operations (add, sub, scalar ops, trivial encryptions). */
  readonly linear: number;
  /** Which leaves' indicators the plan sums: approving leaves, or denying leaves subtracted from 1. */
  readonly leafClass: 'approve' | 'deny';
}

export interface CircuitPlan {
  readonly formatVersion: 1;
  readonly modelVersion: string;
  readonly limits: PlanLimits;
  /** Every input of the manifest, in order: the upload shape a run expects. */
  readonly inputs: readonly PlanInput[];
  /** Lookup tables over the full cleartext space (16 entries for 2_2). */
  readonly luts: readonly (readonly number[])[];
  readonly ops: readonly PlanOp[];
  /** Metadata of each value, as the compiler computed it. */
  readonly metadata: readonly Metadata[];
  readonly outputs: {
    /** Decrypts (mod messageModulus) to 1 = approve, 0 = deny. */
    readonly decision: ValueId;
    /** One value per explanation bin, in bin order. */
    readonly explanation: readonly ValueId[];
  };
  readonly explanationBins: readonly { readonly code: number; readonly label: string }[];
  readonly stats: PlanStats;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new CircuitError('invalid_plan', message, details);
}

/**
 * The metadata of one op's result from its operands' metadata, with tfhe-rs's checked-op limits.
 * @throws CircuitError `invalid_plan` when the result would exceed a limit.
 */
export function stepMetadata(op: PlanOp, operand: (id: ValueId) => Metadata, luts: CircuitPlan['luts'], limits: PlanLimits): Metadata {
  let m: Metadata;
  switch (op.op) {
    case 'digit':
      m = { degree: limits.messageModulus - 1, noise: 1 };
      break;
    case 'trivial':
      if (!Number.isInteger(op.value) || op.value < 0 || op.value >= limits.messageModulus) {
        fail(`trivial value ${op.value} is not a message`);
      }
      m = { degree: op.value, noise: 0 };
      break;
    case 'add': {
      const a = operand(op.a);
      const b = operand(op.b);
      m = { degree: a.degree + b.degree, noise: a.noise + b.noise };
      break;
    }
    case 'sub': {
      const a = operand(op.a);
      const b = operand(op.b);
      m = { degree: a.degree + correctingTerm(b.degree, limits), noise: a.noise + b.noise };
      break;
    }
    case 'scalarMul': {
      const a = operand(op.a);
      m = { degree: a.degree * op.c, noise: a.noise * op.c };
      break;
    }
    case 'scalarAdd':
      m = { degree: operand(op.a).degree + op.c, noise: operand(op.a).noise };
      break;
    case 'pbs': {
      const a = operand(op.a);
      if (a.degree > limits.maxDegree || a.noise > limits.maxNoiseLevel) {
        fail(`bootstrap input exceeds the limits (degree ${a.degree}, noise ${a.noise})`);
      }
      const lut = luts[op.lut];
      if (lut === undefined) fail(`unknown lookup table ${op.lut}`);
      m = { degree: Math.max(...lut), noise: 1 };
      break;
    }
  }
  if (m.degree > limits.maxDegree) fail(`${op.op} result degree ${m.degree} exceeds ${limits.maxDegree}`, { op });
  if (m.noise > limits.maxNoiseLevel) fail(`${op.op} result noise level ${m.noise} exceeds ${limits.maxNoiseLevel}`, { op });
  return m;
}

/**
 * The table that clamps digit `digit` of an input with `levels` codes to the values that digit
 * can take: `v ↦ min(v mod msg, largest digit)`. This is tfhe-rs's sanitizing of expanded
 * compact-list blocks (`v mod msg`) tightened to the model: a 1-bit input's digit becomes 0 or 1
 * whatever the encrypting side put in it, as long as the padding bit is clear.
 */
export function digitSanitizingTable(levels: number, digit: number, limits: Pick<PlanLimits, 'messageModulus' | 'carryModulus'>): number[] {
  const msg = limits.messageModulus;
  const top = Math.min(msg - 1, Math.floor((levels - 1) / msg ** digit));
  return Array.from({ length: msg * limits.carryModulus }, (_, v) => Math.min(v % msg, top));
}

/**
 * Digits (`input/digit`) that the plan itself sanitizes: every op reading the digit is a
 * bootstrap through `table(input, digit)`. Bootstrapping them again before the plan would only
 * repeat the same clamp.
 */
export function selfSanitizedDigits(
  plan: Pick<CircuitPlan, 'ops' | 'luts'>,
  table: (input: string, digit: number) => readonly number[] | undefined,
): Set<string> {
  const readers = new Map<ValueId, PlanOp[]>();
  for (const op of plan.ops) {
    for (const id of ['a' in op ? op.a : undefined, 'b' in op ? op.b : undefined]) {
      if (id !== undefined) readers.set(id, [...(readers.get(id) ?? []), op]);
    }
  }
  const out = new Set<string>();
  plan.ops.forEach((op, i) => {
    if (op.op !== 'digit') return;
    const want = table(op.input, op.digit);
    const uses = readers.get(i) ?? [];
    const same = (lut: number) =>
      want !== undefined && plan.luts[lut]!.length === want.length && plan.luts[lut]!.every((v, k) => v === want[k]);
    if (uses.length > 0 && uses.every((u) => u.op === 'pbs' && same(u.lut))) out.add(`${op.input}/${op.digit}`);
  });
  return out;
}

/** tfhe-rs's `z` for a subtraction: the smallest multiple of the message modulus ≥ max(degree, 1). */
export function correctingTerm(degree: number, limits: PlanLimits): number {
  return Math.max(1, Math.ceil(degree / limits.messageModulus)) * limits.messageModulus;
}

/** Recomputes every value's metadata and checks references; throws on any inconsistency. */
export function checkPlan(plan: CircuitPlan): void {
  const { limits } = plan;
  if (plan.metadata.length !== plan.ops.length) fail('one metadata entry per op is required');
  const inputs = new Map(plan.inputs.map((i) => [i.name, i.digits]));
  for (const i of plan.inputs) {
    const space = limits.messageModulus ** i.digits;
    if (!(Number.isInteger(i.levels) && i.levels >= 1 && i.levels <= space))
      fail(`input ${i.name}: ${i.levels} levels do not fit ${i.digits} digit(s)`);
  }
  const p = limits.messageModulus * limits.carryModulus;
  plan.luts.forEach((lut, i) => {
    if (lut.length !== p || !lut.every((v) => Number.isInteger(v) && v >= 0 && v < p)) fail(`lookup table ${i} is malformed`);
  });
  plan.ops.forEach((op, i) => {
    if ('a' in op && !(op.a >= 0 && op.a < i)) fail(`op ${i} refers to ${op.a}, not an earlier value`);
    if ('b' in op && !(op.b >= 0 && op.b < i)) fail(`op ${i} refers to ${op.b}, not an earlier value`);
    if (op.op === 'digit') {
      const digits = inputs.get(op.input);
      if (digits === undefined || op.digit >= digits) fail(`op ${i} reads digit ${op.digit} of ${op.input}, which is not uploaded`);
    }
    const m = stepMetadata(op, (id) => plan.metadata[id]!, plan.luts, limits);
    const declared = plan.metadata[i]!;
    if (m.degree !== declared.degree || m.noise !== declared.noise) {
      fail(`op ${i}: declared degree/noise ${declared.degree}/${declared.noise}, computed ${m.degree}/${m.noise}`);
    }
  });
  const outs = [plan.outputs.decision, ...plan.outputs.explanation];
  if (!outs.every((o) => o >= 0 && o < plan.ops.length)) fail('an output refers to no value');
  if (plan.outputs.explanation.length !== plan.explanationBins.length) fail('one explanation output per bin is required');
}
