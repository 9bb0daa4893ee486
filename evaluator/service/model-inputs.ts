import { base64ToBytes, isBase64Error } from '../../protocol/bytes.ts';
import {
  COMPRESSED_CIPHERTEXT_BYTES,
  MAX_COMPACT_LIST_BYTES,
  type CompactListInputs,
  type PartyInputs,
  type PartyUpload,
} from '../../protocol/ciphertexts.ts';
import { checkCompactListUpload, isCompactListError } from '../../protocol/compact-list.ts';
import { COMPACT_PUBLIC_KEY_SHAPES } from '../../protocol/compact-public-key.ts';
import type { ModelInfo, Party } from '../../protocol/evaluator-api.ts';
import { ModelError } from '../../model/errors.ts';
import type { Manifest } from '../../model/manifest.ts';
import { validatePartyUpload } from '../../model/party-inputs.ts';
import { deserializeCompressedCiphertext } from '../../fhe/index.ts';
import { EvaluatorApiError } from '../../protocol/evaluator-api.ts';

/** The manifest fields the service uses. */
export type ServedManifest = Pick<Manifest, 'modelVersion' | 'inputs'> & { parameterSet: Pick<Manifest['parameterSet'], 'id'> };

const PARTY_ORDER: readonly Party[] = ['applicant', 'bank', 'bureau'];

export function modelInfo(manifest: ServedManifest): ModelInfo {
  const parties = new Set(manifest.inputs.map((i) => i.party));
  return {
    modelVersion: manifest.modelVersion,
    paramSet: manifest.parameterSet.id,
    parties: PARTY_ORDER.filter((p) => parties.has(p)),
  };
}

/** What a fresh ciphertext of the set is: the shape its compact public key encrypts to, too. */
const shapeOf = (manifest: ServedManifest) => COMPACT_PUBLIC_KEY_SHAPES[manifest.parameterSet.id];

/**
 * Parses a compressed ciphertext with the engine and checks it is a fresh encryption of the
 * model's parameter set: the circuit's degree and noise bookkeeping assumes exactly that, and a
 * forged degree or noise level would otherwise surface as a failure deep inside a run.
 */
export function checkFreshCiphertext(manifest: ServedManifest, bytes: Uint8Array): void {
  const shape = shapeOf(manifest);
  const ct = deserializeCompressedCiphertext(bytes);
  const lweDimension = ct.data.length / 2 - 1;
  if (lweDimension !== shape.lweDimension) throw new Error(`LWE dimension ${lweDimension}, expected ${shape.lweDimension}`);
  if (ct.messageModulus !== shape.messageModulus || ct.carryModulus !== shape.carryModulus) {
    throw new Error(
      `message/carry modulus ${ct.messageModulus}/${ct.carryModulus}, expected ${shape.messageModulus}/${shape.carryModulus}`,
    );
  }
  if (ct.degree > shape.messageModulus - 1 || ct.noiseLevel > 1) {
    throw new Error(`degree ${ct.degree} and noise level ${ct.noiseLevel} are not those of a fresh encryption`);
  }
}

/**
 * Checks a compact list's bytes with the protocol's check, the gateway's too: a list of the set
 * (dimension k·N, moduli, unpacked, no casting) holding exactly the declared inputs. The blocks'
 * values stay unknowable; the run bootstraps each digit into its input's range before use.
 */
export function checkCompactList(manifest: ServedManifest, inputs: CompactListInputs): void {
  const refuse = (message: string, details: Record<string, unknown> = {}): never => {
    throw new EvaluatorApiError(422, 'invalid_ciphertext', `${inputs.party}'s compact list ${message}`, { details });
  };
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(inputs.list);
  } catch (e) {
    if (!isBase64Error(e)) throw e;
    // biome-ignore lint/correctness/noVoidTypeReturn: `refuse` throws; the return tells the compiler `bytes` is set below
    return refuse(`is not valid base64: ${e.message}`);
  }
  if (bytes.length > MAX_COMPACT_LIST_BYTES) refuse(`is ${bytes.length} bytes, more than ${MAX_COMPACT_LIST_BYTES}`);
  try {
    checkCompactListUpload(
      bytes,
      manifest.parameterSet.id,
      inputs.inputs.map((i) => i.digits),
    );
  } catch (e) {
    if (!isCompactListError(e)) throw e;
    refuse(e.code === 'parameter_mismatch' ? e.message : `is not a valid list of the declared inputs: ${e.message}`, {
      engineCode: e.code,
    });
  }
}

/**
 * Checks names and digit counts against the manifest, then every ciphertext's (or the compact
 * list's) bytes.
 * @throws {ApiError} 409 `model_version_mismatch`, 422 `invalid_inputs` or `invalid_ciphertext`
 */
export function checkPartyInputs(manifest: ServedManifest, inputs: PartyUpload): void {
  try {
    validatePartyUpload(manifest, inputs, inputs.party);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    if (e.code === 'version_mismatch') throw new EvaluatorApiError(409, 'model_version_mismatch', e.message);
    throw new EvaluatorApiError(422, 'invalid_inputs', e.message, { details: e.details });
  }
  if (inputs.encoding === 'compact-list') checkCompactList(manifest, inputs);
  else checkCompressedDigits(manifest, inputs);
}

function checkCompressedDigits(manifest: ServedManifest, inputs: PartyInputs): void {
  for (const [name, digits] of Object.entries(inputs.inputs)) {
    digits.forEach((b64, digit) => {
      const where = { input: name, digit };
      let bytes: Uint8Array;
      try {
        bytes = base64ToBytes(b64);
      } catch (e) {
        if (!isBase64Error(e)) throw e;
        throw new EvaluatorApiError(422, 'invalid_ciphertext', `${name}[${digit}] is not valid base64`, { details: where });
      }
      if (bytes.length !== COMPRESSED_CIPHERTEXT_BYTES) {
        throw new EvaluatorApiError(
          422,
          'invalid_ciphertext',
          `${name}[${digit}] is ${bytes.length} bytes, a compressed ciphertext is ${COMPRESSED_CIPHERTEXT_BYTES}`,
          {
            details: where,
          },
        );
      }
      try {
        checkFreshCiphertext(manifest, bytes);
      } catch (e) {
        throw new EvaluatorApiError(422, 'invalid_ciphertext', `${name}[${digit}] is not a valid ciphertext: ${(e as Error).message}`, {
          details: where,
        });
      }
    });
  }
}
