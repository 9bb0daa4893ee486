/**
 * Pieces shared by the route definitions: error responses, security requirements and path
 * parameters, so each route states only what is its own.
 */
import { z } from 'zod';
import { ErrorBody, PublicErrorCode, PublicHeaders, SessionId } from '../../../protocol/public-api.ts';
import { Party } from '../../../protocol/ciphertexts.ts';

const ErrorSchema = ErrorBody.meta({ id: 'ErrorBody' });

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Invalid request',
  401: 'Missing or invalid credentials',
  403: 'Credentials not allowed here',
  404: 'No such session',
  409: 'Conflicts with the session state',
  410: 'Session deleted or expired',
  411: 'Content-Length required',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Refused content (on upload, or by the evaluator)',
  429: 'Rate limited',
  500: 'Internal error or failed run',
  502: 'Evaluator error',
  503: 'Evaluator unavailable',
};

/** Codes answered with a status, for the response descriptions. */
function codesFor(status: number): string {
  return Object.entries(PublicErrorCode)
    .filter(([, s]) => s === status)
    .map(([code]) => `\`${code}\``)
    .join(', ');
}

/** Error responses of a route: every listed status, plus 429 and 500 which any route may give. */
export function errorResponses(...statuses: number[]) {
  const all = [...new Set([...statuses, 429, 500])].sort();
  return Object.fromEntries(
    all.map((status) => [
      status,
      {
        description: `${STATUS_TEXT[status] ?? 'Error'}: ${codesFor(status)}`,
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
  );
}

type SecurityRequirement = Record<string, string[]>;

export const security: Record<'publishableKey' | 'publishableKeyOrParty' | 'token' | 'tokenOrParty', SecurityRequirement[]> = {
  publishableKey: [{ publishableKey: [] }],
  publishableKeyOrParty: [{ publishableKey: [] }, { partyKey: [] }],
  token: [{ sessionToken: [] }],
  tokenOrParty: [{ sessionToken: [] }, { partyKey: [] }],
};

export const securitySchemes = {
  publishableKey: {
    type: 'apiKey',
    in: 'header',
    name: PublicHeaders.publishableKey,
    description: 'Tenant publishable key; the Origin must be allowed.',
  },
  sessionToken: { type: 'http', scheme: 'bearer', description: 'The session capability token returned by POST /v1/sessions.' },
  partyKey: {
    type: 'apiKey',
    in: 'header',
    name: PublicHeaders.partyKey,
    description:
      'A bank or bureau backend secret key, for servers only: a request that also carries an `Origin` is refused (403 `party_key_server_only`).',
  },
} as const;

export const SessionPath = z.object({ sessionId: SessionId.meta({ param: { name: 'sessionId', in: 'path' } }) });
export const InputsPath = z.object({
  sessionId: SessionId.meta({ param: { name: 'sessionId', in: 'path' } }),
  party: Party.meta({ param: { name: 'party', in: 'path' } }),
});

/** A JSON response of a schema. */
export const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A binary body or response, documented without being read by a validator. */
export const binary = { type: 'string', format: 'binary' } as const;
