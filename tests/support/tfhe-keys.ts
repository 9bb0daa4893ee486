/**
 * Test key cache, in the spirit of tfhe-rs's `keycache`: real node-tfhe 1.6.1 keys, generated
 * once per parameter set and kept under `tests/.cache/keys/` (git-ignored), so a test run pays
 * for key generation once and every suite reads the same bytes.
 *
 * `tests/support/global-setup.ts` calls {@link ensureTestKeys} before any suite runs; suites
 * then call {@link loadTestKeys}, which only reads files.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfhe from 'node-tfhe';
import { deriveShortintClientKey } from '../../fhe/compact/client-key.ts';

/** The parameter sets the engine supports, by their node-tfhe `ShortintParametersName`. */
export const TEST_PARAM_SETS = {
  tuniform: tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
  gaussian: tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128,
} as const;
export type TestParamSet = keyof typeof TEST_PARAM_SETS;

export interface TestKeys {
  paramSet: TestParamSet;
  /** `Shortint.serialize_client_key` bytes: test-only, the oracle's secret. */
  clientKeyBytes: Uint8Array;
  /** `Shortint.serialize_compressed_server_key` bytes: what a browser uploads. */
  compressedServerKeyBytes: Uint8Array;
  /** The live client key, for `Shortint.encrypt` / `Shortint.decrypt`. */
  clientKey: tfhe.ShortintClientKey;
}

const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.cache', 'keys');

function paths(paramSet: TestParamSet) {
  return {
    client: join(CACHE_DIR, `${paramSet}.client-key.bin`),
    server: join(CACHE_DIR, `${paramSet}.compressed-server-key.bin`),
  };
}

/** Generates and stores the keys of a parameter set unless they are already cached. */
export function ensureTestKeys(paramSet: TestParamSet): void {
  const p = paths(paramSet);
  if (existsSync(p.client) && existsSync(p.server)) return;
  mkdirSync(CACHE_DIR, { recursive: true });
  const params = new tfhe.ShortintParameters(TEST_PARAM_SETS[paramSet]);
  const clientKey = tfhe.Shortint.new_client_key(params);
  const serverKey = tfhe.Shortint.new_compressed_server_key(clientKey);
  // Write then rename, so a concurrent reader never sees half a key.
  writeFileSync(`${p.server}.tmp`, tfhe.Shortint.serialize_compressed_server_key(serverKey));
  writeFileSync(`${p.client}.tmp`, tfhe.Shortint.serialize_client_key(clientKey));
  renameSync(`${p.server}.tmp`, p.server);
  renameSync(`${p.client}.tmp`, p.client);
}

const loaded = new Map<TestParamSet, TestKeys>();

/** Reads the cached keys of a parameter set (generating them if a suite runs standalone). */
export function loadTestKeys(paramSet: TestParamSet): TestKeys {
  const hit = loaded.get(paramSet);
  if (hit) return hit;
  ensureTestKeys(paramSet);
  const p = paths(paramSet);
  const clientKeyBytes = new Uint8Array(readFileSync(p.client));
  const keys: TestKeys = {
    paramSet,
    clientKeyBytes,
    compressedServerKeyBytes: new Uint8Array(readFileSync(p.server)),
    clientKey: tfhe.Shortint.deserialize_client_key(clientKeyBytes),
  };
  loaded.set(paramSet, keys);
  return keys;
}

/**
 * Keys for public-key encryption, as the widget makes them: a high-level `TfheClientKey` of the
 * set's custom parameters, its `TfheCompactPublicKey` (what parties encrypt with), the shortint
 * client key cut out of it (`deriveShortintClientKey`) and that key's compressed server key (what
 * the engine expands). One secret behind all of them.
 */
export interface PublicKeyTestKeys {
  paramSet: TestParamSet;
  /** `TfheClientKey.serialize()` bytes: test-only, the oracle's secret. */
  hlClientKeyBytes: Uint8Array;
  /** `TfheCompactPublicKey.serialize()` bytes. */
  compactPublicKeyBytes: Uint8Array;
  /** `Shortint.serialize_client_key`-format bytes derived from the high-level key. */
  clientKeyBytes: Uint8Array;
  /** `Shortint.serialize_compressed_server_key` bytes of the derived key. */
  compressedServerKeyBytes: Uint8Array;
  hlClientKey: tfhe.TfheClientKey;
  compactPublicKey: tfhe.TfheCompactPublicKey;
  /** The derived shortint client key, for `Shortint.decrypt`. */
  clientKey: tfhe.ShortintClientKey;
}

/** `Shortint.serialize_client_key` bytes of a fixed-seed key: only its parameter bytes are ever used. */
export function shortintKeyTemplate(paramSet: TestParamSet): Uint8Array {
  const params = new tfhe.ShortintParameters(TEST_PARAM_SETS[paramSet]);
  return tfhe.Shortint.serialize_client_key(tfhe.Shortint.new_client_key_from_seed_and_parameters(0n, 0n, params));
}

/** `TfheClientKey.generate` with the set's parameters as custom block parameters (what the widget uses). */
export function generateHighLevelClientKey(paramSet: TestParamSet): tfhe.TfheClientKey {
  const params = new tfhe.ShortintParameters(TEST_PARAM_SETS[paramSet]);
  return tfhe.TfheClientKey.generate(tfhe.TfheConfigBuilder.with_custom_parameters(params).build());
}

function publicKeySetPath(paramSet: TestParamSet): string {
  return join(CACHE_DIR, `${paramSet}.public-key-set.bin`);
}

// One file holds the four byte strings (u32 length + bytes each), so a concurrent writer can
// never pair one run's client key with another run's server key.
function packSections(sections: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(sections.reduce((n, s) => n + 4 + s.length, 0));
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const s of sections) {
    view.setUint32(pos, s.length, true);
    out.set(s, pos + 4);
    pos += 4 + s.length;
  }
  return out;
}

function unpackSections(bytes: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(pos, true);
    out.push(bytes.slice(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  if (pos !== bytes.length) throw new Error('corrupted public-key test key cache; delete tests/.cache/keys');
  return out;
}

/** Generates and stores a parameter set's public-key test keys unless they are already cached. */
export function ensurePublicKeyTestKeys(paramSet: TestParamSet): void {
  const path = publicKeySetPath(paramSet);
  if (existsSync(path)) return;
  mkdirSync(CACHE_DIR, { recursive: true });
  const hlClientKey = generateHighLevelClientKey(paramSet);
  const hlClientKeyBytes = hlClientKey.serialize();
  const compactPublicKeyBytes = tfhe.TfheCompactPublicKey.new(hlClientKey).serialize();
  const clientKeyBytes = deriveShortintClientKey(hlClientKeyBytes, shortintKeyTemplate(paramSet));
  const clientKey = tfhe.Shortint.deserialize_client_key(clientKeyBytes);
  const serverKey = tfhe.Shortint.serialize_compressed_server_key(tfhe.Shortint.new_compressed_server_key(clientKey));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, packSections([hlClientKeyBytes, compactPublicKeyBytes, clientKeyBytes, serverKey]));
  renameSync(tmp, path);
}

const loadedPublic = new Map<TestParamSet, PublicKeyTestKeys>();

/** Reads the cached public-key test keys of a parameter set (generating them if needed). */
export function loadPublicKeyTestKeys(paramSet: TestParamSet): PublicKeyTestKeys {
  const hit = loadedPublic.get(paramSet);
  if (hit) return hit;
  ensurePublicKeyTestKeys(paramSet);
  const [hlClientKeyBytes, compactPublicKeyBytes, clientKeyBytes, compressedServerKeyBytes] = unpackSections(
    new Uint8Array(readFileSync(publicKeySetPath(paramSet))),
    4,
  ) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const keys: PublicKeyTestKeys = {
    paramSet,
    hlClientKeyBytes,
    compactPublicKeyBytes,
    clientKeyBytes,
    compressedServerKeyBytes,
    hlClientKey: tfhe.TfheClientKey.deserialize(hlClientKeyBytes),
    compactPublicKey: tfhe.TfheCompactPublicKey.deserialize(compactPublicKeyBytes),
    clientKey: tfhe.Shortint.deserialize_client_key(clientKeyBytes),
  };
  loadedPublic.set(paramSet, keys);
  return keys;
}
