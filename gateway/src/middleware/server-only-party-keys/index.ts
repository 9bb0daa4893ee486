/**
 * Party keys (`x-blindscore-party-key: sk_…`) belong to the bank's and the bureau's servers: a
 * request that carries one and an `Origin` header comes from a page (browsers always send
 * `Origin` on the cross-origin and non-GET requests a party key would be used for), so the key
 * has leaked into a browser. It is refused before the key is looked up, so a page cannot even
 * learn whether a key is valid. CORS never lists the header either; this also covers callers
 * that ignore preflights.
 */
import type { MiddlewareHandler } from 'hono';
import { PublicHeaders, PublicApiError } from '../../../../protocol/public-api.ts';
import type { AppEnv } from '../../env.ts';

export function serverOnlyPartyKeys(): MiddlewareHandler<AppEnv> {
  return async function serverOnlyPartyKeysCheck(c, next) {
    if (c.req.header(PublicHeaders.partyKey) !== undefined && c.req.header('origin') !== undefined) {
      throw new PublicApiError(
        403,
        'party_key_server_only',
        'Party keys are for the bank\u2019s and the bureau\u2019s servers; a request from a web page (with an Origin) may not carry one.',
      );
    }
    await next();
  };
}
