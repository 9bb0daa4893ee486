/**
 * The production backend: the model from its artifact files, compiled once into a circuit plan;
 * server keys expanded on a dedicated worker; runs on the circuit's worker-thread bootstrap pool,
 * whose threads start with the backend and hold each expanded key while the key cache does.
 */
import { readFile } from 'node:fs/promises';
import { bytesToBase64 } from '../../protocol/ciphertexts.ts';
import { ApiError } from '../../protocol/errors.ts';
import type { EncryptedResult } from '../../protocol/evaluator-api.ts';
import { loadAnyModel, type AnyModel } from '../../model/private-model.ts';
import {
  CircuitError,
  compileCircuit,
  createPbsPool,
  decodePartyInputs,
  precomputeCircuit,
  publicKeyParties,
  runBootstrapCount,
  runCircuit,
  type Precomputation,
} from '../circuit/index.ts';
import { isEngineError, serializeCiphertext, type ServerKey } from '../../fhe/index.ts';
import type { Party, PartyUpload } from '../../protocol/evaluator-api.ts';
import type { EvaluationBackend, Precomputed } from './backend.ts';
import type { EvaluatorConfig } from './config.ts';
import { KeyExpander } from './keys/key-expander.ts';
import type { Logger } from './log.ts';
import { checkPartyInputs, modelInfo } from './model-inputs.ts';

/** Loads the model files named by the configuration and builds the backend. */
export async function createCircuitBackend(
  config: Pick<EvaluatorConfig, 'modelManifestPath' | 'modelTreePath' | 'poolSize'>,
  log: Logger,
): Promise<EvaluationBackend<ServerKey>> {
  const [manifest, tree] = await Promise.all([readFile(config.modelManifestPath, 'utf8'), readFile(config.modelTreePath, 'utf8')]);
  return circuitBackend(await loadAnyModel(manifest, tree), { poolSize: config.poolSize, log });
}

export function circuitBackend(model: AnyModel, opts: { poolSize: number; log: Logger }): EvaluationBackend<ServerKey> {
  const plan = compileCircuit(model);
  const pool = createPbsPool({ size: opts.poolSize });
  // Threads loading the engine take seconds on a busy machine: not on the first run's path.
  pool.warm();
  const expander = new KeyExpander();
  const info = modelInfo(model.manifest);
  let closed = false;
  // The circuit's side of each precomputation handed out (the service sees only `Precomputed`).
  const precomputations = new WeakMap<Precomputed, Precomputation>();
  opts.log.info(
    { modelVersion: info.modelVersion, pbs: plan.stats.pbs, pbsDepth: plan.stats.pbsDepth, poolSize: pool.size },
    'circuit compiled',
  );

  return {
    model: info,
    checkInputs: (inputs) => checkPartyInputs(model.manifest, inputs),
    async expandServerKey(bytes) {
      const expanded = await expander.expand(bytes);
      // Held by the pool from expansion until the cache lets the key go: runs share it with the
      // workers without sending it again or the workers dropping it between runs.
      pool.acquireKey(expanded.key);
      let held = true;
      const dispose = () => {
        if (held) pool.releaseKey(expanded.key);
        held = false;
      };
      return { ...expanded, dispose };
    },
    precompute({ key, inputs }) {
      try {
        const payloads = [...inputs.values()];
        const circuit = precomputeCircuit({
          plan,
          serverKey: key,
          inputs: decodePartyInputs(payloads, key),
          publicKeyParties: publicKeyParties(payloads),
          pool,
        });
        if (circuit === undefined) return undefined;
        const precomputed: Precomputed = {
          inputs: new Map(inputs),
          bootstraps: circuit.pbs,
          bytes: circuit.ciphertexts * (key.params.glweDimension * key.params.polynomialSize + 1) * 8,
          done: circuit.done,
          cancel: () => circuit.cancel(),
        };
        precomputations.set(precomputed, circuit);
        return precomputed;
      } catch (e) {
        throw refusal(e);
      }
    },
    async run({ key, inputs, onProgress, signal, precomputed }): Promise<EncryptedResult> {
      try {
        const payloads = Object.values(inputs);
        const decoded = decodePartyInputs(payloads, key);
        // Digits encrypted with the public key are bootstrapped into their inputs' ranges first.
        const publicKey = publicKeyParties(payloads);
        const circuit = precomputed && sameUploads(precomputed.inputs, inputs) ? precomputations.get(precomputed) : undefined;
        const adopted = circuit?.failed ? undefined : circuit;
        const total = runBootstrapCount(plan, publicKey) - (adopted?.pbs ?? 0);
        onProgress({ stage: 'bootstraps', completed: 0, total });
        const out = await runCircuit({
          plan,
          serverKey: key,
          inputs: decoded,
          publicKeyParties: publicKey,
          pool,
          signal,
          onProgress: (done, total) => onProgress({ stage: 'bootstraps', completed: done, total }),
          ...(adopted ? { precomputed: adopted } : {}),
        });
        return {
          modelVersion: info.modelVersion,
          decision: bytesToBase64(serializeCiphertext(out.decision)),
          explanation: {
            bins: plan.explanationBins.map((b) => b.label),
            ciphertexts: out.explanation.map((ct) => bytesToBase64(serializeCiphertext(ct))),
          },
        };
      } catch (e) {
        throw refusal(e);
      }
    },
    ready: () => !closed,
    async close() {
      closed = true;
      await Promise.all([pool.close(), expander.close()]);
    },
  };
}

/** Inputs were checked on upload; what the engine or plan still refuses is the caller's (a 422). */
function refusal(e: unknown): unknown {
  if (isEngineError(e))
    return new ApiError(422, 'invalid_ciphertext', `the engine refused the inputs: ${e.message}`, { details: { engineCode: e.code } });
  if (e instanceof CircuitError && e.code === 'invalid_inputs') return new ApiError(422, 'invalid_inputs', e.message);
  return e;
}

/** Whether a run's inputs hold the very uploads a precomputation used. */
function sameUploads(used: ReadonlyMap<Party, PartyUpload>, inputs: Readonly<Record<Party, PartyUpload>>): boolean {
  for (const [party, upload] of used) if (inputs[party] !== upload) return false;
  return true;
}
