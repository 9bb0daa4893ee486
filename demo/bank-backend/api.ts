/**
 * The demo bank backend's HTTP API as the demo pages see it: request and response schemas only,
 * so the pages (browser) import them without the backend's Node code.
 */
import { z } from 'zod';
import { SessionId } from '../../protocol/public-api.ts';

/** A demo customer's reference, as the picker lists it. */
export const CustomerReference = z.string().regex(/^LB-\d{5}$/, 'must be a customer reference such as LB-20417');
export type CustomerReference = z.infer<typeof CustomerReference>;

export const PARTIES = ['bank', 'bureau'] as const;
export type BackendParty = (typeof PARTIES)[number];

/**
 * `POST /api/sessions/:sessionId/party-inputs` and `…/party-commands` body: which customer the
 * applicant is. Only because the demo has no log-in: a production backend takes the customer
 * from its own authenticated session, never from the page.
 */
export const PartyInputsRequest = z.object({ customer: CustomerReference }).strict();

/** What the page learns of one party's upload: names, sizes and hashes, never a value. */
export const PartyReceipt = z.object({
  party: z.enum(PARTIES),
  inputs: z.array(z.string()),
  listBytes: z.number().int(),
  /** SHA-256 of the upload as the gateway stored it. */
  sha256: z.string(),
  publicKeySha256: z.string(),
});
export type PartyReceipt = z.infer<typeof PartyReceipt>;

export const PartyInputsResponse = z.object({
  sessionId: SessionId,
  customer: CustomerReference,
  parties: z.array(PartyReceipt),
  /** Parties the session still waits for after these uploads (the applicant's, if not yet sent). */
  missing: z.array(z.string()),
});
export type PartyInputsResponse = z.infer<typeof PartyInputsResponse>;

/** The picker's list: who each demo customer is and, in words, what to expect; never a value. */
export const CustomersResponse = z
  .object({
    customers: z.array(z.object({ reference: CustomerReference, name: z.string(), profile: z.string() }).strict()),
  })
  .strict();
export type CustomersResponse = z.infer<typeof CustomersResponse>;

export const PartyCommandsResponse = z.object({ commands: z.array(z.object({ party: z.enum(PARTIES), command: z.string() })) });
export type PartyCommandsResponse = z.infer<typeof PartyCommandsResponse>;
