/**
 * The whole party flow in one call: check the session, get the manifest and the session's compact
 * public key, validate + quantize + encrypt the raw values, upload, and report what happened
 * (sizes, hashes, timings — never a value).
 */
import type { InputsAccepted } from '../protocol/public-api.ts';
import { base64ToBytes, type Party } from '../protocol/ciphertexts.ts';
import type { Manifest } from '../model/manifest.ts';
import { PartyGatewayClient, type PartyClientOptions } from './client.ts';
import { encryptPartyInputs } from './encrypt.ts';
import { PartyError } from './errors.ts';

export interface SubmitPartyInputsOptions extends PartyClientOptions {
  sessionId: string;
  party: Party;
  /** The party's raw values, e.g. `{ account_age: 14 }` or `{ years_employed: '5-8', employed: true }`. */
  features: unknown;
  /** Use this manifest instead of `GET /v1/manifest` (e.g. the bank's own model artifact); its version must be the session's. */
  manifest?: Manifest;
  /** How long to wait for the applicant's browser to upload the public key (default 60 s). */
  publicKeyWaitMs?: number;
}

export interface SubmitReport {
  sessionId: string;
  party: Party;
  modelVersion: string;
  /** The inputs uploaded, in list order, with their digit (block) counts. */
  inputs: { name: string; digits: number }[];
  /** Bytes of the serialized compact ciphertext list. */
  listBytes: number;
  /** SHA-256 of the public key the values were encrypted under. */
  publicKeySha256: string;
  /** The gateway's receipt: stored hash, duplicate, which parties it still waits for. */
  accepted: InputsAccepted;
  timingsMs: { publicKey: number; encrypt: number; upload: number; total: number };
}

/**
 * @throws PartyError — the gateway's code (`invalid_party_key`, `party_not_allowed`,
 *   `session_expired`, `run_started`, …) or the SDK's (`invalid_features`, `public_key_mismatch`,
 *   `public_key_timeout`, `session_mismatch`, `network`, …).
 * @example
 * const report = await submitPartyInputs({
 *   gatewayUrl: 'https://gateway.example.com', partyKey: process.env.BLINDSCORE_PARTY_KEY!,
 *   sessionId, party: 'bureau', features: { years_employed: '5-8', employed: true },
 * });
 */
export async function submitPartyInputs(options: SubmitPartyInputsOptions): Promise<SubmitReport> {
  const started = performance.now();
  const client = new PartyGatewayClient(options);
  const { sessionId, party } = options;

  const status = await client.status(sessionId);
  if (![...status.parties.received, ...status.parties.missing].includes(party)) {
    throw new PartyError('session_mismatch', `this session takes no inputs from ${party}`);
  }
  const manifest = options.manifest ?? (await client.manifest());
  if (manifest.modelVersion !== status.modelVersion) {
    throw new PartyError('session_mismatch', `the session runs model ${status.modelVersion}, the manifest is ${manifest.modelVersion}`, {
      details: { sessionModelVersion: status.modelVersion, manifestModelVersion: manifest.modelVersion },
    });
  }

  const keyStarted = performance.now();
  const publicKey = await client.publicKey(sessionId, options.publicKeyWaitMs);
  const encryptStarted = performance.now();
  const body = encryptPartyInputs({ manifest, party, features: options.features, publicKey: publicKey.bytes });
  const uploadStarted = performance.now();
  const accepted = await client.uploadInputs(sessionId, party, body);
  const done = performance.now();

  return {
    sessionId,
    party,
    modelVersion: manifest.modelVersion,
    inputs: body.inputs,
    listBytes: base64ToBytes(body.list).length,
    publicKeySha256: publicKey.sha256,
    accepted,
    timingsMs: {
      publicKey: Math.round(encryptStarted - keyStarted),
      encrypt: Math.round(uploadStarted - encryptStarted),
      upload: Math.round(done - uploadStarted),
      total: Math.round(done - started),
    },
  };
}
