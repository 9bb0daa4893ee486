/**
 * BlindScore party SDK: how a bank or credit bureau backend contributes its encrypted inputs to
 * an applicant's session without ever holding the applicant's secret key. See `party/README.md`.
 *
 * @example
 * import { submitPartyInputs } from './party/index.ts';
 * const report = await submitPartyInputs({ gatewayUrl, partyKey, sessionId, party: 'bank', features: { account_age: 14 } });
 */
export { submitPartyInputs, type SubmitPartyInputsOptions, type SubmitReport } from './submit.ts';
export { encryptPartyInputs, checkPublicKey, type EncryptPartyInputsOptions } from './encrypt.ts';
export { PartyGatewayClient, type PartyClientOptions } from './client.ts';
export { PartyError, PartyErrorCode } from './errors.ts';
