/**
 * Uploads of a party's inputs to a prepared session, one at a time per party: an upload made
 * ahead of the click (demo mode's bank and bureau) and a check's own upload of the same party
 * never race, and `prepared.uploaded` always says what the session holds.
 */
import type { Party, PartyInputs } from '../../../protocol/ciphertexts.ts';
import type { InputsAccepted } from '../../../protocol/public-api.ts';
import type { GatewayClient } from '../api/gateway-client.ts';
import type { PreparedSession } from './prepare-session.ts';

/** Resolves once no upload of `party` is under way on the session, whatever their outcome. */
export function partyUploadsSettled(prepared: PreparedSession, party: Party): Promise<void> {
  return prepared.pendingUploads.get(party) ?? Promise.resolve();
}

/**
 * Uploads `inputs`, the ciphertexts of `answers` (their JSON), as `party`'s once the party's
 * earlier uploads settled. The party is forgotten in `prepared.uploaded` before the request and
 * recorded once the gateway accepted it: after a failure the next check sends it again.
 */
export function uploadPartyInputs(
  client: GatewayClient,
  prepared: PreparedSession,
  party: Party,
  answers: string,
  inputs: PartyInputs | Promise<PartyInputs>,
  signal: AbortSignal,
): Promise<InputsAccepted> {
  const upload = partyUploadsSettled(prepared, party).then(async () => {
    const ciphertexts = await inputs;
    prepared.uploaded.delete(party);
    const accepted = await client.uploadInputs(prepared.session, ciphertexts, signal);
    prepared.uploaded.set(party, answers);
    return accepted;
  });
  const settled = upload.then(
    () => undefined,
    () => undefined,
  );
  prepared.pendingUploads.set(party, settled);
  void settled.then(() => {
    if (prepared.pendingUploads.get(party) === settled) prepared.pendingUploads.delete(party);
  });
  return upload;
}
