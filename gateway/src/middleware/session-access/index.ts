/**
 * Authenticates a request to one session (`:sessionId`) with either the session's capability
 * token (`authorization: Bearer …`) or, where the route allows it, a party's secret key
 * (`x-blindscore-party-key`). The session's Durable Object checks the token against its stored
 * hash in constant time, or the party key's tenant against the session's. A browser request's
 * `Origin` must be allowed for the session's tenant. Sets `c.var.session` and `c.var.tenant`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { BEARER_PREFIX, PublicHeaders, SessionId, SessionToken, PublicApiError } from '../../../../protocol/public-api.ts';
import { resolvePartyKey, tenantDirectory } from '../../config/tenants.ts';
import { sha256Hex } from '../../../../protocol/bytes.ts';
import type { AppEnv } from '../../env.ts';
import type { AccessLevel, SessionCredential } from '../../sessions/access.ts';
import { unwrap } from '../../sessions/outcome.ts';
import { sessionStub } from '../../sessions/store.ts';
import { takeToken } from '../rate-limit/index.ts';

export interface SessionAccessOptions {
  /** `token`: only the session token; `token-or-party`: party backends too. */
  level?: AccessLevel;
}

const defaults = { level: 'token' } satisfies Required<SessionAccessOptions>;

async function credentialOf(c: Context<AppEnv>, level: AccessLevel): Promise<SessionCredential> {
  const authorization = c.req.header(PublicHeaders.authorization);
  const partyKey = c.req.header(PublicHeaders.partyKey);
  if (authorization !== undefined && partyKey !== undefined) {
    throw new PublicApiError(400, 'invalid_request', 'Send either a session token or a party key, not both.');
  }
  if (authorization !== undefined) {
    const token = authorization.startsWith(BEARER_PREFIX) ? authorization.slice(BEARER_PREFIX.length) : '';
    if (!SessionToken.safeParse(token).success) throw new PublicApiError(401, 'invalid_token', 'The token does not open this session.');
    return { kind: 'token', tokenHash: await sha256Hex(token) };
  }
  if (partyKey !== undefined) {
    if (level === 'token') throw new PublicApiError(403, 'token_required', 'Only the session token may do this.');
    const directory = tenantDirectory(c.env.TENANTS);
    const resolved = await resolvePartyKey(directory, partyKey);
    if (!resolved) throw new PublicApiError(401, 'invalid_party_key', 'Unknown party key.');
    await takeToken(c.env, `tenant:${resolved.tenant.id}`, 'party-requests', resolved.tenant.rateLimits.partyRequestsPerMinute);
    return { kind: 'party', tenantId: resolved.tenant.id, party: resolved.party };
  }
  throw new PublicApiError(
    401,
    'missing_credentials',
    `Send the session token as "${BEARER_PREFIX}<token>" in ${PublicHeaders.authorization}.`,
  );
}

/**
 * @example
 * sessions.get('/:sessionId', sessionAccess({ level: 'token-or-party' }), handler);
 */
export function sessionAccess(options: SessionAccessOptions = {}): MiddlewareHandler<AppEnv> {
  const opts = { ...defaults, ...options };
  return async function sessionAccessAuth(c, next) {
    const sessionId = c.req.param('sessionId') ?? '';
    // A malformed id cannot name a session; answer as for an unknown one.
    if (!SessionId.safeParse(sessionId).success) throw new PublicApiError(404, 'session_not_found', 'No such session.');
    const credential = await credentialOf(c, opts.level);
    const opened = unwrap(await sessionStub(c.env, sessionId).authenticate(credential, opts.level));
    const tenant = tenantDirectory(c.env.TENANTS).byId.get(opened.tenantId);
    if (!tenant) throw new PublicApiError(401, 'invalid_token', 'The session\u2019s tenant no longer exists.');
    c.set('tenant', tenant);
    const origin = c.req.header('origin');
    if (origin !== undefined && !tenant.allowedOrigins.includes(origin)) {
      throw new PublicApiError(403, 'origin_not_allowed', `The origin ${origin} is not allowed for this session\u2019s tenant.`, {
        details: { origin },
      });
    }
    c.set('session', {
      sessionId,
      credential,
      modelVersion: opened.modelVersion,
      ...(credential.kind === 'party' ? { party: credential.party } : {}),
    });
    await next();
  };
}
