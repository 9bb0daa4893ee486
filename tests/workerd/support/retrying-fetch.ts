/**
 * A client of the gateway that retries as the product's clients do (`protocol/retry.ts`):
 * 429/502/503/504, a non-JSON 503 from wrangler's dev proxy, network errors; the bodies sent
 * here are bytes or strings, so every try sends the same request. Each retry is reported to
 * `onRetry` (what went wrong), so a test or bench can say what it recovered from.
 */
import { PublicHeaders } from '../../../protocol/public-api.ts';
import { DEFAULT_RETRY_POLICY, isRetriableStatus, nextRetryDelay, parseRetryAfter } from '../../../protocol/retry.ts';

/** @param fetchGateway a path-relative fetch against the gateway (`gw.fetch`). */
export function retryingFetch(
  fetchGateway: (path: string, init: RequestInit) => Promise<Response>,
  onRetry: (what: string) => void = () => undefined,
) {
  return async function send(path: string, init: RequestInit, ok: readonly number[]): Promise<Response> {
    let waited = 0;
    const what = `${init.method ?? 'GET'} ${path.split('/').slice(4).join('/') || path}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      let why: string;
      try {
        res = await fetchGateway(path, init);
      } catch (e) {
        res = undefined;
        why = `network ${(e as Error).message}`;
      }
      if (res) {
        if (ok.includes(res.status)) return res;
        why = `${res.status} ${res.headers.get('content-type') ?? ''}`;
        if (!isRetriableStatus(res.status)) throw new Error(`${what}: ${res.status} ${await res.text()}`);
      }
      const delay = nextRetryDelay(DEFAULT_RETRY_POLICY, attempt, waited, parseRetryAfter(res?.headers.get(PublicHeaders.retryAfter)));
      await res?.body?.cancel();
      if (delay === undefined) throw new Error(`${what}: gave up after ${attempt + 1} tries (${why!})`);
      onRetry(`${what}: ${why!}`);
      waited += delay;
      await new Promise((r) => setTimeout(r, delay));
    }
  };
}
