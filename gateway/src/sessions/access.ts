/**
 * What a caller presents to a session, as the Worker hands it to the session's Durable Object:
 * the SHA-256 of the session token (the token itself stays in the Worker), or a party key
 * already resolved to its tenant and party.
 */
import type { Party } from '../../../protocol/ciphertexts.ts';

export type SessionCredential =
  | { kind: 'token'; tokenHash: string }
  | { kind: 'party'; tenantId: string; party: Exclude<Party, 'applicant'> };

/** Which credentials a session operation accepts. */
export type AccessLevel = 'token' | 'token-or-party';
