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
import { digitSanitizingTable, selfSanitizedDigits, type CircuitPlan, type PlanInput, type PlanLimits, type ValueId } from './plan.ts';
import { createPbsPool, type BootstrapPriority, type PbsPool } from './pool.ts';

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
  /**
   * Work done ahead with some parties' inputs ({@link precomputeCircuit}): the run reads the
   * values it computed (waiting for any still in flight) instead of computing them again; one
   * that already failed or was cancelled is ignored. The caller vouches that those parties'
   * inputs here are the ones it was started with.
   */
  precomputed?: Precomputation;
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
 * claims more than that is refused: it is not a fresh encryption. With `parties`, only those
 * parties' inputs are required (a precomputation's).
 * @throws CircuitError `invalid_inputs`; EngineError `parameter_mismatch` for a foreign ciphertext.
 */
export function prepareInputs(
  plan: CircuitPlan,
  key: ServerKey,
  inputs: CircuitInputs,
  parties?: ReadonlySet<Party>,
): Map<string, Ciphertext[]> {
  const out = new Map<string, Ciphertext[]>();
  const fresh = plan.limits.messageModulus - 1;
  for (const input of plan.inputs) {
    if (parties !== undefined && !parties.has(input.party)) continue;
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

/** Per op, the parties whose inputs it depends on (bit i: the i-th party of the plan's inputs). */
const dependencyCache = new WeakMap<CircuitPlan, { parties: Party[]; masks: number[] }>();

function dependencies(plan: CircuitPlan): { parties: Party[]; masks: number[] } {
  let deps = dependencyCache.get(plan);
  if (deps !== undefined) return deps;
  const parties = [...new Set(plan.inputs.map((i) => i.party))];
  const partyOf = new Map(plan.inputs.map((i) => [i.name, i.party]));
  const masks: number[] = [];
  for (const op of plan.ops) {
    if (op.op === 'digit') masks.push(1 << parties.indexOf(partyOf.get(op.input)!));
    else if (op.op === 'trivial') masks.push(0);
    else masks.push('b' in op ? masks[op.a]! | masks[op.b]! : masks[op.a]!);
  }
  deps = { parties, masks };
  dependencyCache.set(plan, deps);
  return deps;
}

/** The bit set of `parties` in {@link dependencies}' numbering. */
function partyMask(plan: CircuitPlan, parties: Iterable<Party>): number {
  const order = dependencies(plan).parties;
  let mask = 0;
  for (const p of parties) if (order.includes(p)) mask |= 1 << order.indexOf(p);
  return mask;
}

/**
 * The bootstraps and linear operations a plan can do with only some parties' inputs, started
 * ahead of the run (a session's bank and bureau inputs usually arrive long before the
 * applicant's). {@link runCircuit} given it with the same inputs of those parties does only the
 * rest. Its bootstraps run at `background` priority: a run's go first.
 */
export interface Precomputation {
  readonly plan: CircuitPlan;
  /** The parties whose inputs it used: a run must have the same inputs of these parties. */
  readonly parties: ReadonlySet<Party>;
  /** Bootstraps it performs (a run that adopts it performs that many fewer). */
  readonly pbs: number;
  /** Ciphertexts it holds once done: the values a run reads from it. */
  readonly ciphertexts: number;
  /** Resolves when every bootstrap has ended; rejects with the first failure. */
  readonly done: Promise<void>;
  /** Cancelled, or one of its values failed (before `done` settles): a run ignores it. */
  readonly failed: boolean;
  /** Stops its queued bootstraps; `done` then rejects with CircuitError `aborted`. */
  cancel(): void;
  /** @internal op index → value, for the ops a run reads from it. */
  readonly values: ReadonlyMap<number, Promise<Ciphertext>>;
  /** @internal whether it computes op `i` (one whose inputs all belong to {@link parties}). */
  covers(i: number): boolean;
  /** @internal a run now waits for it: its bootstraps, queued or still to come, go at run priority. */
  adopt(): void;
}

export interface PrecomputeOptions {
  plan: CircuitPlan;
  serverKey: ServerKey;
  /** Decoded digits of the parties present so far. */
  inputs: CircuitInputs;
  /** Which of those parties encrypted with the public key (as for {@link runCircuit}). */
  publicKeyParties: ReadonlySet<Party>;
  pool: PbsPool;
}

/**
 * Starts the part of the plan that `options.inputs`' parties alone determine. Undefined when
 * that part has no bootstrap (nothing worth doing ahead) or every party of the plan is present
 * (that would be the run itself).
 * @throws CircuitError `invalid_inputs` for inputs the run would refuse.
 */
export function precomputeCircuit(options: PrecomputeOptions): Precomputation | undefined {
  const { plan, serverKey: key, pool } = options;
  const present = new Set(Object.keys(options.inputs) as Party[]);
  const { parties, masks } = dependencies(plan);
  const mask = partyMask(plan, present);
  if (parties.every((p) => present.has(p))) return undefined;
  const covered = (i: number) => masks[i] !== 0 && (masks[i]! & ~mask) === 0;
  const sanitizers = sanitizerTables(plan, key, options.publicKeyParties);
  const clamps = plan.ops.some((op, i) => op.op === 'digit' && covered(i) && sanitizers.has(`${op.input}/${op.digit}`));
  if (!clamps && !plan.ops.some((op, i) => op.op === 'pbs' && covered(i))) return undefined;

  const digits = prepareInputs(plan, key, options.inputs, present);
  const controller = new AbortController();
  let priority: BootstrapPriority = 'background';
  pool.acquireKey(key);
  let scheduled: ReturnType<typeof scheduleOps>;
  try {
    scheduled = scheduleOps({
      plan,
      key,
      digits,
      sanitizers,
      pool,
      signal: controller.signal,
      priority: () => priority,
      // Trivial constants belong to no party: computed wherever they are read.
      include: (i) => covered(i) || masks[i] === 0,
      onBootstrap: () => {},
    });
  } catch (e) {
    controller.abort();
    pool.releaseKey(key);
    throw e;
  }
  // A run reads only what ops outside the covered part (or the outputs) use.
  const read = new Set<number>([plan.outputs.decision, ...plan.outputs.explanation]);
  plan.ops.forEach((op, i) => {
    if (covered(i)) return;
    if ('a' in op) read.add(op.a);
    if ('b' in op) read.add(op.b);
  });
  const values = new Map<number, Promise<Ciphertext>>();
  for (const i of read) if (covered(i)) values.set(i, scheduled.values[i]!);
  const all = scheduled.values.filter((v) => v !== undefined);
  let failed = false;
  for (const v of all)
    v.catch(() => {
      failed = true;
      controller.abort();
    });
  // The key is held until every bootstrap has ended, as a run holds it.
  const done = Promise.allSettled(all).then((results) => {
    pool.releaseKey(key);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  done.catch(() => undefined); // observed by whoever adopts or drops it
  return {
    plan,
    parties: present,
    pbs: scheduled.bootstraps,
    ciphertexts: values.size,
    done,
    get failed() {
      return failed || controller.signal.aborted;
    },
    cancel: () => controller.abort(),
    values,
    covers: covered,
    adopt: () => {
      priority = 'run';
      pool.promote(controller.signal);
    },
  };
}

interface Schedule {
  plan: CircuitPlan;
  key: ServerKey;
  digits: Map<string, Ciphertext[]>;
  sanitizers: Map<string, LookupTable>;
  pool: PbsPool;
  signal: AbortSignal;
  /** Read when each bootstrap is queued. */
  priority: () => BootstrapPriority;
  /** Which ops to compute; the others are left undefined (or taken from `seed`). */
  include: (i: number) => boolean;
  /** Values computed elsewhere (a precomputation), by op index. */
  seed?: ReadonlyMap<number, Promise<Ciphertext>>;
  onBootstrap: () => void;
}

/**
 * Schedules the included ops as a promise graph: linear ops run as soon as their operands exist,
 * bootstraps go to the pool then. Returns the values (undefined where not included) and the
 * number of bootstraps scheduled. A failure aborts `signal`'s controller through the caller.
 */
function scheduleOps(s: Schedule): { values: (Promise<Ciphertext> | undefined)[]; bootstraps: number } {
  const { plan, key, pool, signal } = s;
  const luts = lookupTables(plan, key);
  const fresh = plan.limits.messageModulus - 1;
  const sanitized = new Map<string, Promise<Ciphertext>>();
  // Counted as scheduled (a bootstrap's call itself waits for its operand).
  let bootstraps = 0;
  const bootstrap = (ct: Ciphertext, lut: LookupTable) =>
    pool.bootstrap(key, ct, lut, signal, s.priority()).then((out) => {
      s.onBootstrap();
      return out;
    });
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
  const values: (Promise<Ciphertext> | undefined)[] = [];
  const operand = (id: ValueId): Promise<Ciphertext> => {
    const v = values[id];
    if (v === undefined) throw new CircuitError('invalid_plan', `op reads value ${id}, which this run has not computed`);
    return v;
  };
  plan.ops.forEach((op, i) => {
    const seeded = s.seed?.get(i);
    if (seeded !== undefined || !s.include(i)) {
      values.push(seeded);
      return;
    }
    let v: Promise<Ciphertext>;
    switch (op.op) {
      case 'digit': {
        const ct = s.digits.get(op.input)![op.digit]!;
        const id = `${op.input}/${op.digit}`;
        const lut = s.sanitizers.get(id);
        if (lut === undefined) {
          v = Promise.resolve(ct);
          break;
        }
        // One bootstrap per digit however often the plan reads it; the result keeps the plan's
        // fresh-digit degree (an upper bound of the table's).
        let once = sanitized.get(id);
        if (once === undefined) {
          bootstraps++;
          once = bootstrap(ct, lut).then((out) => ({ ...out, degree: fresh }));
          sanitized.set(id, once);
        }
        v = once;
        break;
      }
      case 'trivial':
        v = Promise.resolve(trivialEncrypt(key.params, op.value));
        break;
      case 'add':
        v = Promise.all([operand(op.a), operand(op.b)]).then(([a, b]) => addCiphertexts(a, b));
        break;
      case 'sub':
        v = Promise.all([operand(op.a), operand(op.b)]).then(([a, b]) => subCiphertexts(a, b));
        break;
      case 'scalarMul':
        v = operand(op.a).then((a) => scalarMultiply(a, op.c));
        break;
      case 'scalarAdd':
        v = operand(op.a).then((a) => scalarAdd(a, op.c));
        break;
      case 'pbs':
        bootstraps++;
        v = operand(op.a).then((a) => bootstrap(a, luts[op.lut]!));
        break;
    }
    const value = v.then((ct) => checked(i, ct));
    values.push(value);
    // Failures surface through the outputs (or `done`); this only stops "unhandled rejection" noise.
    value.catch(() => undefined);
  });
  return { values, bootstraps };
}

/** The sanitizing lookup tables of the digits the plan reads from the given public-key parties. */
function sanitizerTables(plan: CircuitPlan, key: ServerKey, publicKeyParties: ReadonlySet<Party>): Map<string, LookupTable> {
  if (!(publicKeyParties instanceof Set)) {
    throw new CircuitError('invalid_inputs', 'publicKeyParties is required: the parties whose digits were encrypted with the public key');
  }
  return new Map([...sanitizedDigits(plan, publicKeyParties)].map(([id, t]) => [id, createLookupTable(key.params, t)]));
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
  // A precomputation that failed or was cancelled is of no use: the run does it all.
  const precomputed = options.precomputed?.failed ? undefined : options.precomputed;
  if (signal?.aborted) throw new CircuitError('aborted', 'the run was cancelled');
  const digits = prepareInputs(plan, key, options.inputs);
  const sanitizers = sanitizerTables(plan, key, options.publicKeyParties);
  if (precomputed !== undefined && precomputed.plan !== plan) {
    throw new CircuitError('invalid_plan', 'the precomputation is of another plan');
  }
  const pool = options.pool ?? createPbsPool({ size: 0 });
  let done = 0;
  let total = 0;

  // A failure anywhere cancels the bootstraps still queued for this run.
  const local = new AbortController();
  const onAbort = () => local.abort();
  signal?.addEventListener('abort', onAbort, { once: true });

  pool.acquireKey(key);
  // What the precomputation still has to do, this run now waits for.
  precomputed?.adopt();
  try {
    const scheduled = scheduleOps({
      plan,
      key,
      digits,
      sanitizers,
      pool,
      signal: local.signal,
      priority: () => 'run',
      // Ops a precomputation covers are either read from it or read by nothing here.
      include: (i) => precomputed?.covers(i) !== true,
      ...(precomputed ? { seed: precomputed.values } : {}),
      onBootstrap: () => {
        done++;
        onProgress?.(done, total);
      },
    });
    total = scheduled.bootstraps;
    const values = scheduled.values.filter((v) => v !== undefined);
    for (const v of values) v.catch(() => local.abort());
    const output = (id: ValueId) => {
      const v = scheduled.values[id];
      if (v === undefined) throw new CircuitError('invalid_plan', `output ${id} was not computed`);
      return v;
    };
    const [decision, ...explanation] = await Promise.all([output(plan.outputs.decision), ...plan.outputs.explanation.map(output)]);
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
