/**
 * The demo bank backend: what a bank's own server does in applicant mode, as a Hono app the demo
 * site's server mounts under `/api/`. The applicant's page reports its session id and the
 * customer reference; this backend looks up the bank's and the credit bureau's records for that
 * customer and has each party encrypt its own under the session's compact public key and upload
 * it with its own secret party key (`party/`'s `submitPartyInputs`). The page receives only a
 * receipt (input names, sizes, hashes), never a key or a ciphertext.
 *
 * In a real deployment the bureau runs its own backend and keys its records by its own
 * identifier; here one process plays both, each with its own key, as two separate calls.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { ApiError } from '../../protocol/errors.ts';
import { SessionId } from '../../protocol/public-api.ts';
import { PartyError, submitPartyInputs, type SubmitReport } from '../../party/index.ts';
import type { PartyKeys } from '../gateway-config.ts';
import { partyCommand } from './commands.ts';
import { CustomerReference, type CustomerRecords } from './records.ts';

export interface BankBackendOptions {
  /** The gateway the parties upload to. */
  gatewayUrl: string;
  /** The bank's and the bureau's secret party keys. */
  partyKeys: PartyKeys;
  /** The files holding those keys, named in the by-hand commands. */
  partyKeyFiles: Record<BackendParty, string>;
  records: readonly CustomerRecords[];
  /** How long each party waits for the page to upload the session's public key (default 60 s). */
  publicKeyWaitMs?: number;
}

export type BackendParty = keyof PartyKeys;
const PARTIES = ['bank', 'bureau'] as const satisfies readonly BackendParty[];

/** `POST /api/sessions/:sessionId/party-inputs` body: which customer the applicant is. */
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

export const CustomersResponse = z.object({
  customers: z.array(
    z.object({
      reference: CustomerReference,
      name: z.string(),
      bank: z.object({ account_age: z.number() }),
      bureau: z.object({ years_employed: z.string(), employed: z.boolean() }),
    }),
  ),
});
export type CustomersResponse = z.infer<typeof CustomersResponse>;

export const PartyCommandsResponse = z.object({ commands: z.array(z.object({ party: z.enum(PARTIES), command: z.string() })) });
export type PartyCommandsResponse = z.infer<typeof PartyCommandsResponse>;

const PARTY_NAMES: Record<BackendParty, string> = { bank: 'The bank', bureau: 'The credit bureau' };

function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new ApiError(400, 'invalid_request', `invalid request: ${problems.join('; ')}`);
}

async function readJson(c: Context): Promise<unknown> {
  if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
    throw new ApiError(415, 'unsupported_media_type', 'body must be application/json');
  }
  try {
    return await c.req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'body is not JSON');
  }
}

/** A party's refusal, as the page sees it: which party, the SDK's or the gateway's code. */
function uploadFailure(party: BackendParty, e: unknown): ApiError {
  if (!(e instanceof PartyError)) throw e;
  const status = e.code === 'public_key_timeout' ? 504 : 502;
  return new ApiError(status, 'party_upload_failed', `${PARTY_NAMES[party]} could not send its records: ${e.message}`, {
    retriable: e.extra.retriable ?? false,
    details: { party, partyCode: e.code, ...(e.extra.status === undefined ? {} : { partyStatus: e.extra.status }) },
  });
}

function receipt(report: SubmitReport): PartyReceipt {
  return {
    party: report.party as BackendParty,
    inputs: report.inputs.map((i) => i.name),
    listBytes: report.listBytes,
    sha256: report.accepted.sha256,
    publicKeySha256: report.publicKeySha256,
  };
}

/**
 * The backend's routes, to mount at the site's root.
 *
 * @example
 * const app = bankBackend({ gatewayUrl, partyKeys, partyKeyFiles, records: loadRecords() });
 * // POST /api/sessions/<sessionId>/party-inputs  {"customer":"LB-20417"}
 */
export function bankBackend(options: BankBackendOptions): Hono {
  const byReference = new Map(options.records.map((r) => [r.reference, r]));
  const customerOf = (reference: string): CustomerRecords => {
    const found = byReference.get(parseWith(CustomerReference, reference));
    if (!found) throw new ApiError(404, 'unknown_customer', `no customer ${reference} in the demo records`);
    return found;
  };
  const sessionOf = (c: Context) => parseWith(SessionId, c.req.param('sessionId'));

  const app = new Hono();

  app.get('/api/customers', (c) => {
    const customers = options.records.map(({ reference, name, bank, bureau }) => ({ reference, name, bank, bureau }));
    return c.json({ customers } satisfies CustomersResponse);
  });

  app.post('/api/sessions/:sessionId/party-inputs', bodyLimit({ maxSize: 1024, onError: tooLarge }), async (c) => {
    const sessionId = sessionOf(c);
    const customer = customerOf(parseWith(PartyInputsRequest, await readJson(c)).customer);
    // Both parties at once, each with its own key, as two backends would; the page's request
    // closing (navigation, cancel) stops their wait for the public key.
    const settled = await Promise.allSettled(
      PARTIES.map((party) =>
        submitPartyInputs({
          gatewayUrl: options.gatewayUrl,
          partyKey: options.partyKeys[party],
          sessionId,
          party,
          features: customer[party],
          signal: c.req.raw.signal,
          ...(options.publicKeyWaitMs === undefined ? {} : { publicKeyWaitMs: options.publicKeyWaitMs }),
        }),
      ),
    );
    const failed = settled.findIndex((s) => s.status === 'rejected');
    if (failed >= 0) throw uploadFailure(PARTIES[failed]!, (settled[failed] as PromiseRejectedResult).reason);
    const reports = settled.map((s) => (s as PromiseFulfilledResult<SubmitReport>).value);
    const last = reports.reduce((a, b) => (b.accepted.missing.length < a.accepted.missing.length ? b : a));
    return c.json({ sessionId, customer: customer.reference, parties: reports.map(receipt), missing: last.accepted.missing } satisfies PartyInputsResponse);
  });

  app.get('/api/sessions/:sessionId/party-commands', (c) => {
    const sessionId = sessionOf(c);
    const customer = customerOf(c.req.query('customer') ?? '');
    const commands = PARTIES.map((party) => ({
      party,
      command: partyCommand({ gatewayUrl: options.gatewayUrl, sessionId, party, keyFile: options.partyKeyFiles[party], features: customer[party] }),
    }));
    return c.json({ commands } satisfies PartyCommandsResponse);
  });

  app.notFound((c) => c.json(new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`).toBody(), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.toBody(), err.status);
    console.error(`demo bank backend: ${err.name}: ${err.message}`);
    return c.json(new ApiError(500, 'internal', 'internal error').toBody(), 500);
  });
  return app;
}

function tooLarge(): never {
  throw new ApiError(413, 'body_too_large', 'the body is larger than 1 kB');
}
