/**
 * The public model manifest the gateway serves, bundled from `model/artifacts/manifest.json`
 * at build time (the private tree stays with the evaluator). Checked with the model's own
 * schema at first use; a broken artifact is a deployment error (500 `internal`).
 */
import { Party } from '../../protocol/ciphertexts.ts';
import { parseManifest, type Manifest } from '../../model/manifest.ts';
import manifestJson from '../../model/artifacts/manifest.json';
import { PublicApiError } from '../../protocol/public-api.ts';

let cached: { manifest: Manifest; parties: Party[] } | undefined;

function load(): { manifest: Manifest; parties: Party[] } {
  if (!cached) {
    let manifest: Manifest;
    try {
      manifest = parseManifest(manifestJson);
    } catch (error) {
      console.error('bundled manifest is invalid:', error instanceof Error ? error.message : typeof error);
      throw new PublicApiError(500, 'internal', 'The gateway is misconfigured.');
    }
    const owners = new Set(manifest.inputs.map((i) => i.party));
    cached = { manifest, parties: Party.options.filter((p) => owners.has(p)) };
  }
  return cached;
}

/** The served manifest. */
export function servedManifest(): Manifest {
  return load().manifest;
}

/** Parties whose inputs a run needs: those owning at least one encrypted input. */
export function requiredParties(): Party[] {
  return load().parties;
}
