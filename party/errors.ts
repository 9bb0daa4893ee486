/**
 * The party SDK's one error type. Failures reported by the gateway keep its `{ code, message }`
 * (see `PublicErrorCode` in `protocol/public-api.ts`) with the HTTP status and request id; local
 * failures use the codes of {@link PartyErrorCode}. Messages never contain a feature value.
 */

/** Codes raised by the SDK itself (the gateway's own codes pass through unchanged). */
export const PartyErrorCode = {
  /** Options are missing or malformed (gateway URL, session id, party key, party). */
  InvalidOptions: 'invalid_options',
  /** The gateway URL is plain `http:` to a host other than loopback: the party key would travel in clear. */
  InsecureGatewayUrl: 'insecure_gateway_url',
  /** The raw values fail the manifest's feature schema for this party. */
  InvalidFeatures: 'invalid_features',
  /** The session, the manifest and the party disagree (other model version, party not in the session, no inputs of this party). */
  SessionMismatch: 'session_mismatch',
  /** The session's public key is not one of the manifest's parameter set, or not a compact public key at all. */
  PublicKeyMismatch: 'public_key_mismatch',
  /** The applicant's browser did not upload the public key within the wait. */
  PublicKeyTimeout: 'public_key_timeout',
  /** The gateway could not be reached. */
  Network: 'network',
  /** The gateway answered something that is not its documented response. */
  InvalidResponse: 'invalid_response',
  /** The caller's AbortSignal fired. */
  Aborted: 'aborted',
} as const;
export type PartyErrorCode = (typeof PartyErrorCode)[keyof typeof PartyErrorCode];

export class PartyError extends Error {
  override readonly name = 'PartyError';
  constructor(
    /** A {@link PartyErrorCode} or the gateway's error code. */
    readonly code: string,
    message: string,
    readonly extra: {
      /** HTTP status, when the gateway answered. */
      status?: number;
      /** Whether the same call may succeed later unchanged. */
      retriable?: boolean;
      requestId?: string;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(message);
  }

  /** The JSON the CLI prints: `{ code, message, status?, retriable?, requestId?, details? }`. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.extra };
  }
}
