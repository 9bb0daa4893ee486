/**
 * The cleartext simulator: runs a plan on integers instead of ciphertexts. Each value is the
 * exact cleartext the ciphertext would hold (message and carries, 0..15), and its degree and
 * noise level are recomputed with tfhe-rs's rules, so a simulated run also proves the plan legal:
 * every value within its declared degree, every bootstrap input within the limits.
 */
import { toDigits } from '../../model/quantize.ts';
import { CircuitError } from './errors.ts';
import { correctingTerm, stepMetadata, type CircuitPlan, type Metadata } from './plan.ts';

export interface SimulationResult {
  /** Decrypted decision: 1 approve, 0 deny. */
  decision: number;
  /** Decrypted explanation bits, in bin order. */
  explanation: number[];
  /** Bootstraps executed. */
  pbs: number;
}

/**
 * Simulates a plan on quantized codes (input name → code).
 * @throws CircuitError `invalid_inputs` for a missing or oversized code, `invalid_plan` when a
 *   value escapes its metadata.
 */
export function simulateCircuit(plan: CircuitPlan, codes: Readonly<Record<string, number>>): SimulationResult {
  const { limits } = plan;
  const digits = new Map<string, number[]>();
  for (const input of plan.inputs) {
    const code = codes[input.name];
    if (code === undefined) throw new CircuitError('invalid_inputs', `no code for input ${input.name}`);
    try {
      digits.set(input.name, toDigits(code, input.digits));
    } catch (e) {
      throw new CircuitError('invalid_inputs', `input ${input.name}: ${(e as Error).message}`);
    }
  }
  const values: number[] = [];
  const meta: Metadata[] = [];
  let pbs = 0;
  plan.ops.forEach((op, i) => {
    const m = stepMetadata(op, (id) => meta[id]!, plan.luts, limits);
    let v: number;
    switch (op.op) {
      case 'digit':
        v = digits.get(op.input)![op.digit]!;
        break;
      case 'trivial':
        v = op.value;
        break;
      case 'add':
        v = values[op.a]! + values[op.b]!;
        break;
      case 'sub':
        v = values[op.a]! - values[op.b]! + correctingTerm(meta[op.b]!.degree, limits);
        break;
      case 'scalarMul':
        v = values[op.a]! * op.c;
        break;
      case 'scalarAdd':
        v = values[op.a]! + op.c;
        break;
      case 'pbs':
        v = plan.luts[op.lut]![values[op.a]!]!;
        pbs++;
        break;
    }
    if (!(v >= 0 && v <= m.degree)) {
      throw new CircuitError('invalid_plan', `value ${i} (${op.op}) is ${v}, outside its degree ${m.degree}`);
    }
    const declared = plan.metadata[i]!;
    if (declared.degree !== m.degree || declared.noise !== m.noise) {
      throw new CircuitError('invalid_plan', `value ${i}: declared metadata differs from tfhe-rs rules`);
    }
    values.push(v);
    meta.push(m);
  });
  const decode = (id: number) => values[id]! % limits.messageModulus;
  return {
    decision: decode(plan.outputs.decision),
    explanation: plan.outputs.explanation.map(decode),
    pbs,
  };
}
