/**
 * The credit model's FHE circuit: compile a loaded model into a plan, simulate it in cleartext,
 * and run it on ciphertexts with a worker-thread bootstrap pool.
 *
 * @example
 * import { loadModel } from '../../model/manifest.ts';
 * import { compileCircuit, createPbsPool, decodePartyInputs, runCircuit } from './index.ts';
 *
 * const model = await loadModel(manifestJson, treeJson);     // zod + version checks
 * const plan = compileCircuit(model);                        // once per model
 * const pool = createPbsPool();                              // once per process; size = cores
 * const inputs = decodePartyInputs([applicant, bank, bureau], serverKey);
 * const { decision, explanation } = await runCircuit({ plan, serverKey, inputs, pool, onProgress, signal });
 * // serializeCiphertext(decision), explanation.map(serializeCiphertext) → EncryptedResult
 */
import { base64ToBytes, type Party, type PartyInputs } from '../../protocol/ciphertexts.ts';
import { deserializeCompressedCiphertext, type Ciphertext, type ServerKey } from '../engine/index.ts';
import type { CircuitInputs } from './run.ts';

export { compileCircuit, type CompileOptions } from './compile.ts';
export { CircuitError, type CircuitErrorCode } from './errors.ts';
export { checkPlan, LIMITS_2_2, type CircuitPlan, type PlanOp, type PlanStats, type Metadata } from './plan.ts';
export { createPbsPool, PBS_WORKER_FILE, type PbsPool, type PbsPoolOptions } from './pool.ts';
export { prepareInputs, runCircuit, type CircuitInputs, type RunCircuitOptions, type RunCircuitResult } from './run.ts';
export { simulateCircuit, type SimulationResult } from './simulate.ts';

/**
 * Decodes validated party payloads (see `model/party-inputs.ts`) into digit ciphertexts.
 * @throws EngineError for bytes that are not a compressed ciphertext of the key's parameters.
 */
export function decodePartyInputs(payloads: readonly PartyInputs[], key: ServerKey): CircuitInputs {
  const out: Partial<Record<Party, Record<string, Ciphertext[]>>> = {};
  for (const p of payloads) {
    out[p.party] = Object.fromEntries(
      Object.entries(p.inputs).map(([name, digits]) => [
        name,
        digits.map((b64) => deserializeCompressedCiphertext(base64ToBytes(b64), key.params)),
      ]),
    );
  }
  return out;
}
