/**
 * `npm run fuzz`: long seeded fuzz runs over every parser of outside input, in process, and over
 * the JSON upload path of a real gateway in workerd (wrangler's dev server, local R2 and Durable
 * Objects). Every input must be accepted or refused with the parser's typed error; anything else
 * (a TypeError, a RangeError, an untyped throw, a 5xx) is a finding, printed with its target,
 * seed and index, and makes the run exit 1. Prints one JSON summary with counts per target.
 *
 *   npm run fuzz                               # 1,000,000 inputs in process + 20,000 over HTTP
 *   npm run fuzz -- --inputs 5000000 --seed 7  # longer, another seed
 *   npm run fuzz -- --http 0                   # parsers only
 *
 * Targets: base64 (protocol/bytes.ts), compact lists and compact public keys (protocol/, their
 * header readers and the upload checks), the public and evaluator JSON schemas (protocol/),
 * the engine's ciphertext, compact-list and server-key deserializers (fhe/serialize), the
 * streamed server-key frame reader (protocol/server-key.ts, gateway and evaluator), the PMML tree import (model/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import {
  deserializeCompactCiphertextList,
  deserializeCiphertext,
  deserializeCompressedCiphertext,
  deserializeCompressedServerKey,
  isEngineError,
} from '../../fhe/index.ts';
import { ModelError } from '../../model/errors.ts';
import { importPmmlModel } from '../../tools/model/import-pmml.ts';
import type { Manifest } from '../../model/manifest.ts';
import { isBase64Error, base64ToBytes, bytesToBase64 } from '../../protocol/bytes.ts';
import { PartyUpload } from '../../protocol/ciphertexts.ts';
import { checkCompactListUpload, isCompactListError, readCompactListHeader } from '../../protocol/compact-list.ts';
import { checkCompactPublicKey, isCompactPublicKeyError, readCompactPublicKeyInfo } from '../../protocol/compact-public-key.ts';
import {
  CreateSessionRequest as EvaluatorCreateSession,
  IdentityResponse,
  RunProgress,
  SessionStatus as EvaluatorSessionStatus,
} from '../../protocol/evaluator-api.ts';
import { CreateSessionRequest, SessionStatus } from '../../protocol/public-api.ts';
import { readServerKeyFrame, ServerKeyFrameError } from '../../protocol/server-key.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { createRng, mutateBytes, mutateJsonBody, mutateJsonValue, type Rng } from './mutate.ts';

const { values: args } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    http: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '19' },
  },
});
const TOTAL = Number(args.inputs);
const HTTP = Number(args.http);
const SEED = Number(args.seed);

const ROOT = join(import.meta.dirname, '..', '..');
const keys = loadPublicKeyTestKeys('tuniform');
const manifest = JSON.parse(readFileSync(join(ROOT, 'model', 'artifacts', 'manifest.json'), 'utf8')) as Manifest;
const pmml = readFileSync(join(ROOT, 'tests', 'unit', 'tools', 'model', 'fixtures', 'credit-tree.pmml'));

/** Errors a parser may answer bad input with: its own typed refusal. */
const typed = (e: unknown) =>
  isBase64Error(e) ||
  isCompactListError(e) ||
  isCompactPublicKeyError(e) ||
  isEngineError(e) ||
  e instanceof ServerKeyFrameError ||
  e instanceof ModelError ||
  e instanceof ZodError;

interface Target {
  name: string;
  /** Share of the in-process inputs (relative weight). */
  weight: number;
  run(rng: Rng): unknown;
}

// Seeds: real outputs of tfhe 1.6.1 and of the party SDK.
import * as tfhe from 'node-tfhe';
import { encryptPartyInputs } from '../../party/index.ts';
const compressedCt = tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(keys.clientKey, 1n));
const fullCt = tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 2n));
const bankUpload = encryptPartyInputs({ manifest, party: 'bank', features: { account_age: 14 }, publicKey: keys.compactPublicKeyBytes });
const compactList = base64ToBytes(bankUpload.list);
const digits = bankUpload.inputs.map((i) => i.digits);
const set = manifest.parameterSet;
const serverKeyHead = keys.compressedServerKeyBytes.subarray(0, 128 * 1024);
const statusSample = {
  sessionId: 'AAAAAAAAAAAAAAAAAAAAAA',
  state: 'created',
  demo: false,
  modelVersion: manifest.modelVersion,
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:30:00.000Z',
  serverKey: { received: false },
  publicKey: { received: false },
  parties: { received: [], missing: ['applicant', 'bank', 'bureau'] },
  run: { state: 'idle', stage: 'idle', completed: 0, total: 0, fraction: 0 },
  attempts: 0,
};
const decodeJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
};

const targets: Target[] = [
  {
    name: 'protocol/base64',
    weight: 10,
    run: (rng) => base64ToBytes(new TextDecoder().decode(mutateBytes(rng, new TextEncoder().encode(bytesToBase64(compressedCt))))),
  },
  { name: 'protocol/compact-list header', weight: 15, run: (rng) => readCompactListHeader(mutateBytes(rng, compactList)) },
  {
    name: 'protocol/compact-list upload check',
    weight: 15,
    run: (rng) => checkCompactListUpload(mutateBytes(rng, compactList), set.id, digits, set.tfheName),
  },
  {
    name: 'protocol/compact-public-key',
    weight: 10,
    run: (rng) =>
      rng.chance(0.5)
        ? readCompactPublicKeyInfo(mutateBytes(rng, keys.compactPublicKeyBytes))
        : checkCompactPublicKey(mutateBytes(rng, keys.compactPublicKeyBytes), set.id),
  },
  {
    name: 'protocol/PartyUpload schema',
    weight: 10,
    run: (rng) => PartyUpload.parse(decodeJson(mutateJsonBody(rng, bankUpload as never))),
  },
  {
    name: 'protocol/session schemas',
    weight: 5,
    run: (rng) => {
      const which = rng.int(6);
      const value = mutateJsonValue(rng, statusSample as never);
      return [SessionStatus, CreateSessionRequest, EvaluatorSessionStatus, EvaluatorCreateSession, RunProgress, IdentityResponse][
        which
      ]!.parse(value);
    },
  },
  {
    name: 'fhe/serialize compressed ciphertext',
    weight: 10,
    run: (rng) => deserializeCompressedCiphertext(mutateBytes(rng, compressedCt)),
  },
  { name: 'fhe/serialize ciphertext', weight: 5, run: (rng) => deserializeCiphertext(mutateBytes(rng, fullCt)) },
  { name: 'fhe/compact serialize', weight: 10, run: (rng) => deserializeCompactCiphertextList(mutateBytes(rng, compactList)) },
  {
    name: 'server-key frame (protocol)',
    weight: 5,
    run: (rng) => {
      // The reader sees the prefix of a stream: `length` bytes of it have arrived.
      const head = mutateBytes(rng, serverKeyHead);
      return readServerKeyFrame(head, rng.int(head.length + 1), 32 * 1024 * 1024);
    },
  },
];
/** Whole-key deserialization copies 30 MB per input: a fixed, small count. */
const heavy: Target[] = [
  {
    name: 'fhe/serialize compressed server key',
    weight: 0,
    run: (rng) => {
      const key = Uint8Array.from(keys.compressedServerKeyBytes);
      const head = mutateBytes(rng, key.subarray(0, 4096), 4096);
      key.set(head.subarray(0, 4096));
      return deserializeCompressedServerKey(rng.chance(0.2) ? key.subarray(0, rng.int(key.length)) : key);
    },
  },
];
const asyncTargets = [
  { name: 'model/PMML import', weight: 5, run: (rng: Rng) => importPmmlModel(new TextDecoder().decode(mutateBytes(rng, pmml))) },
];

interface Counts {
  inputs: number;
  accepted: number;
  refused: number;
  findings: number;
}
const summary: Record<string, Counts> = {};
const findings: string[] = [];

function record(name: string, i: number, outcome: 'accepted' | 'refused' | unknown) {
  const c = (summary[name] ??= { inputs: 0, accepted: 0, refused: 0, findings: 0 });
  c.inputs++;
  if (outcome === 'accepted') c.accepted++;
  else if (outcome === 'refused') c.refused++;
  else {
    c.findings++;
    if (findings.length < 50)
      findings.push(`${name} seed ${SEED} #${i}: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
  }
}

const started = performance.now();
const all = [...targets, ...asyncTargets];
const weights = all.reduce((s, t) => s + t.weight, 0);
for (const [t, target] of all.entries()) {
  const n = Math.round((TOTAL * target.weight) / weights);
  for (let i = 0; i < n; i++) {
    const rng = createRng((SEED * 0x9e3779b1 + t * 0x10000000 + i) >>> 0);
    try {
      await target.run(rng);
      record(target.name, i, 'accepted');
    } catch (e) {
      record(target.name, i, typed(e) ? 'refused' : e);
    }
  }
  process.stderr.write(`${target.name}: ${n} inputs, ${Math.round((performance.now() - started) / 1000)} s\n`);
}
for (const target of heavy) {
  const n = Math.min(200, Math.max(10, Math.round(TOTAL / 5000)));
  for (let i = 0; i < n; i++) {
    try {
      target.run(createRng((SEED + i) >>> 0));
      record(target.name, i, 'accepted');
    } catch (e) {
      record(target.name, i, typed(e) ? 'refused' : e);
    }
  }
}

if (HTTP > 0) await fuzzHttp(HTTP);

const inputs = Object.values(summary).reduce((s, c) => s + c.inputs, 0);
console.log(
  JSON.stringify({ seed: SEED, inputs, seconds: Math.round((performance.now() - started) / 1000), targets: summary, findings }, null, 2),
);
process.exit(findings.length > 0 || Object.values(summary).some((c) => c.findings > 0) ? 1 : 0);

/** Mutated JSON uploads to the inputs route of a real gateway in workerd: no 5xx, every refusal a documented code. */
async function fuzzHttp(count: number): Promise<void> {
  const { startGateway } = await import('../workerd/support/gateway.ts');
  const { createSession, getManifest, bearer, partyKey } = await import('../workerd/support/client.ts');
  const { KEYS, testTenants } = await import('../workerd/support/tenants.ts');
  const { encryptPartyInputs: encryptCompressed } = await import('../workerd/support/inputs.ts');
  const { ErrorBody } = await import('../../protocol/errors.ts');
  const { PublicErrorCode } = await import('../../protocol/public-api.ts');
  const unlimited = { rateLimits: { sessionsPerMinute: 120, partyRequestsPerMinute: 100_000_000 } };
  const gw = await startGateway({ tenants: testTenants({ acme: unlimited }) });
  try {
    const served = await getManifest(gw);
    const s = await createSession(gw, 'acme');
    const seeds = [
      {
        path: `/v1/sessions/${s.sessionId}/inputs/applicant`,
        headers: bearer(s.token),
        body: encryptCompressed(served, 'applicant', keys.clientKey),
      },
      { path: `/v1/sessions/${s.sessionId}/inputs/bank`, headers: partyKey(KEYS.acme.bank), body: bankUpload },
    ];
    let next = 0;
    const name = 'gateway PUT inputs (HTTP)';
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const i = next++;
          const rng = createRng((SEED * 0x85ebca6b + i) >>> 0);
          const seed = seeds[rng.int(seeds.length)]!;
          const res = await gw.fetch(seed.path, {
            method: 'PUT',
            headers: { ...seed.headers, 'content-type': 'application/json' },
            body: mutateJsonBody(rng, seed.body as never),
          });
          const text = await res.text();
          if (res.status < 400) record(name, i, 'accepted');
          else {
            const body = ErrorBody.safeParse(decodeJson(new TextEncoder().encode(text)));
            const documented = body.success && PublicErrorCode[body.data.code as keyof typeof PublicErrorCode] === res.status;
            record(name, i, res.status < 500 && documented ? 'refused' : new Error(`${res.status} ${text.slice(0, 200)}`));
          }
        }
      }),
    );
  } finally {
    await gw.dispose();
  }
}
