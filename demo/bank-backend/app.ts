/**
 * The demo bank backend: what a bank's own server does in applicant mode, as a Hono app the demo
 * site's server mounts under `/api/`. The applicant's page reports its session id and the
 * customer reference; this backend looks up the bank's and the credit bureau's records for that
 * customer and has each party encrypt its own under the session's compact public key and upload
 * it with its own secret party key (`party/`'s `submitPartyInputs`). The page receives customer
 * references, display names and profiles in words, and receipts (input names, sizes, hashes):
 * never a record's value, a key or a ciphertext.
 *
 * What this demo cannot show, having no log-in: anyone who can reach these routes may name any
 * demo customer and any session, so they would upload that customer's (fictional, encrypted)
 * records into a session of the caller's choosing. A production backend takes neither from the
 * page: it knows the customer from its own authenticated login session, and the session id from
 * the check that logged-in applicant started (see demo/README.md, "Applicant mode").
 *
 * In a real deployment the bureau runs its own backend and keys its records by its own
 * identifier; here one process plays both, each with its own key, as two separate calls.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { ApiError } from '../../protocol/errors.ts';
import { SessionId } from '../../protocol/public-api.ts';
import { PartyError, submitPartyInputs, type SubmitReport } from '../../party/index.ts';
import type { PartyKeys } from '../gateway-config.ts';
import { partyCommand, writeFeaturesFile } from './commands.ts';
import {
  CustomerReference,
  type CustomersResponse,
  PARTIES,
  type PartyCommandsResponse,
  PartyInputsRequest,
  type PartyInputsResponse,
  type PartyReceipt,
  type BackendParty,
} from './api.ts';
import type { CustomerRecords } from './records.ts';

export interface BankBackendOptions {
  /** The gateway the parties upload to. */
  gatewayUrl: string;
  /** The bank's and the bureau's secret party keys. */
  partyKeys: PartyKeys;
  /** The files holding those keys, named in the by-hand commands. */
  partyKeyFiles: Record<BackendParty, string>;
  /**
   * Where the by-hand commands' raw values are written (`<dir>/<sessionId>/<party>.json`, mode
   * 0600), so that neither the page nor the command line carries them.
   */
  featuresDir: string;
  records: readonly CustomerRecords[];
  /** How long each party waits for the page to upload the session's public key (default 60 s). */
  publicKeyWaitMs?: number;
}

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
 * const app = bankBackend({ gatewayUrl, partyKeys, partyKeyFiles, featuresDir, records: loadRecords() });
 * // POST /api/sessions/<sessionId>/party-inputs  {"customer":"LB-20417"}
 * // POST /api/sessions/<sessionId>/party-commands  {"customer":"LB-20417"}
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
    const customers = options.records.map(({ reference, name, profile }) => ({ reference, name, profile }));
    return c.json({ customers } satisfies CustomersResponse);
  });

  const smallBody = bodyLimit({ maxSize: 1024, onError: tooLarge });
  const requestOf = async (c: Context) => ({
    sessionId: sessionOf(c),
    customer: customerOf(parseWith(PartyInputsRequest, await readJson(c)).customer),
  });

  app.post('/api/sessions/:sessionId/party-inputs', smallBody, async (c) => {
    const { sessionId, customer } = await requestOf(c);
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
    return c.json({
      sessionId,
      customer: customer.reference,
      parties: reports.map(receipt),
      missing: last.accepted.missing,
    } satisfies PartyInputsResponse);
  });

  // A POST: it writes the values' files. The commands name those files, so neither the page
  // nor a process listing ever shows a value.
  app.post('/api/sessions/:sessionId/party-commands', smallBody, async (c) => {
    const { sessionId, customer } = await requestOf(c);
    const commands = await Promise.all(
      PARTIES.map(async (party) => ({
        party,
        command: partyCommand({
          gatewayUrl: options.gatewayUrl,
          sessionId,
          party,
          keyFile: options.partyKeyFiles[party],
          featuresFile: await writeFeaturesFile(options.featuresDir, sessionId, party, customer[party]),
        }),
      })),
    );
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
