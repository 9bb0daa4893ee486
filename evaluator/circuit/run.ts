/**
 * The encrypted runner: executes a {@link CircuitPlan} on ciphertexts with the engine. Linear
 * operations run on the calling thread as soon as their operands exist; each bootstrap goes to
 * the pool as soon as its input exists, so independent bootstraps run in parallel.
 *
 * Every result's degree and noise level are compared with the plan's, so an engine that tracks
 * metadata differently from the compiler is caught at once rather than as a wrong decryption.
 */
import type { Party } from '../../protocol/ciphertexts.ts';
import {
  addCiphertexts,
  assertCiphertextMatchesKey,
  createLookupTable,
  scalarAdd,
  scalarMultiply,
  subCiphertexts,
  trivialEncrypt,
  type Ciphertext,
  type LookupTable,
  type ServerKey,
} from '../../fhe/index.ts';
import { CircuitError } from './errors.ts';
import { digitSanitizingTable, selfSanitizedDigits, type CircuitPlan, type PlanInput, type PlanLimits } from './plan.ts';
import { createPbsPool, type PbsPool } from './pool.ts';

/** Decoded digit ciphertexts per party: party → input name → digits (least significant first). */
export type CircuitInputs = Readonly<Partial<Record<Party, Readonly<Record<string, readonly Ciphertext[]>>>>>;

export interface RunCircuitOptions {
  plan: CircuitPlan;
  /** The applicant's expanded server key. */
  serverKey: ServerKey;
  inputs: CircuitInputs;
  /** Where bootstraps run. Default: a fresh inline pool (the calling thread). */
  pool?: PbsPool;
  /** Called after each bootstrap with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Cancels the run: it then rejects with CircuitError `aborted`. */
  signal?: AbortSignal;
  /**
   * Parties whose digits were encrypted with the public key (compact-list uploads:
   * `publicKeyParties(payloads)`; an empty set when every party used the secret key). Their
   * digits' degree is the encrypting side's claim, so each digit the plan reads is first
   * bootstrapped into its input's range ({@link sanitizingTables}, derived here from the plan:
   * no caller can skip the clamp), one PBS each, run in parallel with the rest of the circuit
   * and counted in the progress.
   */
  publicKeyParties: ReadonlySet<Party>;
}

export interface RunCircuitResult {
  /** Decrypts to 1 = approve, 0 = deny. */
  decision: Ciphertext;
  /** One ciphertext per `plan.explanationBins` entry, in order. */
  explanation: Ciphertext[];
  /** Bootstraps executed. */
  pbs: number;
}

const lutCache = new WeakMap<CircuitPlan, Map<string, LookupTable[]>>();

function lookupTables(plan: CircuitPlan, key: ServerKey): LookupTable[] {
  let byParams = lutCache.get(plan);
  if (byParams === undefined) lutCache.set(plan, (byParams = new Map()));
  const id = JSON.stringify(key.params);
  let luts = byParams.get(id);
  if (luts === undefined) {
    luts = plan.luts.map((t) => createLookupTable(key.params, t));
    byParams.set(id, luts);
  }
  return luts;
}

/**
 * Checks the inputs against the plan and the key, and normalizes each digit to the metadata of
 * a fresh encryption (degree messageModulus−1, noise 1), which the plan assumes. A digit that
 * claims more than that is refused: it is not a fresh encryption.
 * @throws CircuitError `invalid_inputs`; EngineError `parameter_mismatch` for a foreign ciphertext.
 */
export function prepareInputs(plan: CircuitPlan, key: ServerKey, inputs: CircuitInputs): Map<string, Ciphertext[]> {
  const out = new Map<string, Ciphertext[]>();
  const fresh = plan.limits.messageModulus - 1;
  for (const input of plan.inputs) {
    const digits = inputs[input.party]?.[input.name];
    if (digits === undefined) {
      throw new CircuitError('invalid_inputs', `missing input ${input.party}.${input.name}`, { party: input.party, input: input.name });
    }
    if (digits.length !== input.digits) {
      throw new CircuitError('invalid_inputs', `input ${input.name} needs ${input.digits} digit(s), got ${digits.length}`);
    }
    out.set(
      input.name,
      digits.map((ct, i) => {
        assertCiphertextMatchesKey(ct, key);
        if (ct.degree > fresh || ct.noiseLevel > 1) {
          throw new CircuitError(
            'invalid_inputs',
            `digit ${i} of ${input.name} has degree ${ct.degree} and noise level ${ct.noiseLevel}, not a fresh encryption`,
          );
        }
        return { ...ct, degree: fresh, noiseLevel: 1 };
      }),
    );
  }
  for (const [party, byName] of Object.entries(inputs)) {
    for (const name of Object.keys(byName ?? {})) {
      if (!plan.inputs.some((i) => i.name === name && i.party === party)) {
        throw new CircuitError('invalid_inputs', `unknown input ${party}.${name}`);
      }
    }
  }
  return out;
}

/**
 * Tables that clamp each digit of the given parties' inputs to the values its input's codes can
 * take ({@link digitSanitizingTable}): a two-digit input's high digit at most
 * ⌊(levels − 1) / msg⌋, a 1-bit input's digit 0 or 1 (the plan already clamps those, whatever the
 * encoding, and the runner does not repeat it). This is tfhe-rs's sanitizing of expanded
 * compact-list blocks (`v mod msg`), tightened to the model.
 * @returns input name → one table per digit, for {@link RunCircuitOptions.sanitize}.
 */
export function sanitizingTables(
  inputs: readonly Pick<PlanInput, 'name' | 'party' | 'digits' | 'levels'>[],
  parties: ReadonlySet<Party>,
  limits: Pick<PlanLimits, 'messageModulus' | 'carryModulus'>,
): Map<string, number[][]> {
  const out = new Map<string, number[][]>();
  for (const input of inputs) {
    if (!parties.has(input.party)) continue;
    out.set(
      input.name,
      Array.from({ length: input.digits }, (_, d) => digitSanitizingTable(input.levels, d, limits)),
    );
  }
  return out;
}

/**
 * The sanitizing tables of the digits the plan reads, keyed `input/digit`, without the digits the
 * plan bootstraps through the same table itself.
 */
function sanitizedDigits(plan: CircuitPlan, parties: ReadonlySet<Party>): Map<string, readonly number[]> {
  const tables = sanitizingTables(plan.inputs, parties, plan.limits);
  const out = new Map<string, readonly number[]>();
  const lookup = (input: string, digit: number) => tables.get(input)?.[digit];
  const inPlan = selfSanitizedDigits(plan, lookup);
  for (const op of plan.ops) {
    const table = op.op === 'digit' ? lookup(op.input, op.digit) : undefined;
    if (op.op === 'digit' && table !== undefined && !inPlan.has(`${op.input}/${op.digit}`)) out.set(`${op.input}/${op.digit}`, table);
  }
  return out;
}

/** Bootstraps a run of `plan` performs: the plan's own plus one per public-key digit it reads. */
export function runBootstrapCount(plan: CircuitPlan, publicKeyParties: ReadonlySet<Party>): number {
  return plan.stats.pbs + sanitizedDigits(plan, publicKeyParties).size;
}

/**
 * Runs the circuit: one encrypted decision and one encrypted bit per explanation bin.
 * @throws CircuitError (`invalid_inputs`, `invalid_plan`, `aborted`, `worker_failed`),
 *   EngineError for ciphertexts the engine refuses.
 * @example
 * const plan = compileCircuit(await loadModel(manifestJson, treeJson));
 * const pool = createPbsPool({ size: 2 });
 * const { decision, explanation } = await runCircuit({ plan, serverKey, inputs, pool, publicKeyParties: new Set(),
 *   onProgress: (done, total) => report(done / total) });
 */
export async function runCircuit(options: RunCircuitOptions): Promise<RunCircuitResult> {
  const { plan, serverKey: key, signal, onProgress } = options;
  if (signal?.aborted) throw new CircuitError('aborted', 'the run was cancelled');
  const digits = prepareInputs(plan, key, options.inputs);
  const luts = lookupTables(plan, key);
  if (!(options.publicKeyParties instanceof Set)) {
    throw new CircuitError('invalid_inputs', 'publicKeyParties is required: the parties whose digits were encrypted with the public key');
  }
  const sanitizers = new Map([...sanitizedDigits(plan, options.publicKeyParties)].map(([id, t]) => [id, createLookupTable(key.params, t)]));
  const pool = options.pool ?? createPbsPool({ size: 0 });
  const total = plan.stats.pbs + sanitizers.size;
  let done = 0;
  const fresh = plan.limits.messageModulus - 1;
  const sanitized = new Map<string, Promise<Ciphertext>>();

  // A failure anywhere cancels the bootstraps still queued for this run.
  const local = new AbortController();
  const onAbort = () => local.abort();
  signal?.addEventListener('abort', onAbort, { once: true });

  const checked = (i: number, ct: Ciphertext): Ciphertext => {
    const m = plan.metadata[i]!;
    if (ct.degree !== m.degree || ct.noiseLevel !== m.noise) {
      throw new CircuitError(
        'invalid_plan',
        `op ${i} (${plan.ops[i]!.op}): engine gives degree/noise ${ct.degree}/${ct.noiseLevel}, plan expects ${m.degree}/${m.noise}`,
      );
    }
    return ct;
  };

  pool.acquireKey(key);
  try {
    const values: Promise<Ciphertext>[] = [];
    plan.ops.forEach((op, i) => {
      let v: Promise<Ciphertext>;
      switch (op.op) {
        case 'digit': {
          const ct = digits.get(op.input)![op.digit]!;
          const id = `${op.input}/${op.digit}`;
          const lut = sanitizers.get(id);
          if (lut === undefined) {
            v = Promise.resolve(ct);
            break;
          }
          // One bootstrap per digit however often the plan reads it; the result keeps the plan's
          // fresh-digit degree (an upper bound of the table's).
          let once = sanitized.get(id);
          if (once === undefined) {
            once = pool.bootstrap(key, ct, lut, local.signal).then((out) => {
              done++;
              onProgress?.(done, total);
              return { ...out, degree: fresh };
            });
            sanitized.set(id, once);
          }
          v = once;
          break;
        }
        case 'trivial':
          v = Promise.resolve(trivialEncrypt(key.params, op.value));
          break;
        case 'add':
          v = Promise.all([values[op.a]!, values[op.b]!]).then(([a, b]) => addCiphertexts(a, b));
          break;
        case 'sub':
          v = Promise.all([values[op.a]!, values[op.b]!]).then(([a, b]) => subCiphertexts(a, b));
          break;
        case 'scalarMul':
          v = values[op.a]!.then((a) => scalarMultiply(a, op.c));
          break;
        case 'scalarAdd':
          v = values[op.a]!.then((a) => scalarAdd(a, op.c));
          break;
        case 'pbs':
          v = values[op.a]!.then(async (a) => {
            const out = await pool.bootstrap(key, a, luts[op.lut]!, local.signal);
            done++;
            onProgress?.(done, total);
            return out;
          });
          break;
      }
      values.push(v.then((ct) => checked(i, ct)));
      // Failures surface through the outputs below; this only stops "unhandled rejection" noise.
      values[i]!.catch(() => local.abort());
    });
    const [decision, ...explanation] = await Promise.all([
      values[plan.outputs.decision]!,
      ...plan.outputs.explanation.map((id) => values[id]!),
    ]);
    // Every value settles before returning, so no bootstrap of this run is left behind.
    await Promise.allSettled(values);
    if (signal?.aborted) throw new CircuitError('aborted', 'the run was cancelled');
    return { decision: decision!, explanation, pbs: done };
  } catch (e) {
    local.abort();
    if (signal?.aborted) throw new CircuitError('aborted', 'the run was cancelled');
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    pool.releaseKey(key);
    if (options.pool === undefined) await pool.close();
  }
}
