/**
 * The credit model's FHE circuit: compile a loaded model into a plan, simulate it in cleartext,
 * and run it on ciphertexts with a worker-thread bootstrap pool.
 *
 * @example
 * import { loadModel } from '../../model/private-model.ts';
 * import { compileCircuit, createPbsPool, decodePartyInputs, runCircuit } from './index.ts';
 *
 * const model = await loadModel(manifestJson, treeJson);     // zod + version checks
 * const plan = compileCircuit(model);                        // once per model
 * const pool = createPbsPool();                              // once per process; size = cores
 * const inputs = decodePartyInputs([applicant, bank, bureau], serverKey);
 * const publicKey = publicKeyParties([applicant, bank, bureau]);     // compact-list uploads: clamped first
 * const { decision, explanation } = await runCircuit({ plan, serverKey, inputs, publicKeyParties: publicKey, pool, onProgress, signal });
 * // serializeCiphertext(decision), explanation.map(serializeCiphertext) → EncryptedResult
 */
import { base64ToBytes, type Party, type PartyUpload } from '../../protocol/ciphertexts.ts';
import {
  assertUnsignedValues,
  deserializeCompactCiphertextList,
  deserializeCompressedCiphertext,
  expandCompactCiphertextList,
  type Ciphertext,
  type ServerKey,
} from '../../fhe/index.ts';
import type { CircuitInputs } from './run.ts';

export { compileCircuit, type CompileOptions } from './compile.ts';
export { CircuitError, type CircuitErrorCode } from './errors.ts';
export { checkPlan, LIMITS_2_2, type CircuitPlan, type PlanOp, type PlanStats, type Metadata } from './plan.ts';
export { BACKGROUND_MAX_BATCH, createPbsPool, PBS_WORKER_URL, type BootstrapPriority, type PbsPool, type PbsPoolOptions } from './pool.ts';
export {
  precomputeCircuit,
  prepareInputs,
  runBootstrapCount,
  runCircuit,
  sanitizingTables,
  type CircuitInputs,
  type Precomputation,
  type PrecomputeOptions,
  type RunCircuitOptions,
  type RunCircuitResult,
} from './run.ts';
export { simulateCircuit, type SimulationResult } from './simulate.ts';

/**
 * Decodes validated party payloads (see `model/party-inputs.ts`) into digit ciphertexts:
 * compressed ciphertexts are decompressed, a compact list is parsed against the key's parameters,
 * checked to hold exactly the declared inputs (an unsigned value of `digits` blocks each, in
 * order) and expanded.
 * @throws EngineError for bytes that are not a ciphertext / list of the key's parameters, or a
 *   list whose values differ from its declared inputs.
 */
export function decodePartyInputs(payloads: readonly PartyUpload[], key: ServerKey): CircuitInputs {
  const out: Partial<Record<Party, Record<string, Ciphertext[]>>> = {};
  for (const p of payloads) {
    if (p.encoding === 'shortint-compressed') {
      out[p.party] = Object.fromEntries(
        Object.entries(p.inputs).map(([name, digits]) => [
          name,
          digits.map((b64) => deserializeCompressedCiphertext(base64ToBytes(b64), key.params)),
        ]),
      );
      continue;
    }
    const list = deserializeCompactCiphertextList(base64ToBytes(p.list), key.params);
    assertUnsignedValues(
      list,
      p.inputs.map((i) => i.digits),
    );
    const values = expandCompactCiphertextList(list, key.params);
    out[p.party] = Object.fromEntries(p.inputs.map((input, i) => [input.name, values[i]!]));
  }
  return out;
}

/**
 * Parties whose digits must be sanitized before use (see {@link sanitizingTables}): those that
 * uploaded a compact list, i.e. encrypted with the public key rather than the applicant's secret.
 */
export function publicKeyParties(payloads: readonly PartyUpload[]): Set<Party> {
  return new Set(payloads.filter((p) => p.encoding === 'compact-list').map((p) => p.party));
}
