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
