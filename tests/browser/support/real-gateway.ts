/**
 * The real gateway (workerd through wrangler) and evaluator for the happy paths, started by the
 * test runner on the first ask (tests/browser/server/real-stack.ts), and what a suite needs to
 * check a session there: the applicants the cleartext model picked, and the page's own traffic
 * to the gateway (each request's method, path and status; each session's token, so a suite can
 * read the session's status as the page could).
 */
import type { CreditFeatures } from '../../../model/features.ts';
import type { BlindScore } from '../../../widget/src/blind-score.ts';
import { askedFeatures } from '../../../widget/src/form/values.ts';
import type { ApplicantCases, RealGatewayInfo } from '../server/real-stack-api.ts';
import { loadManifest } from './fixtures.ts';
import { answer, mount } from './element.ts';

let info: Promise<RealGatewayInfo> | undefined;
let cases: Promise<ApplicantCases> | undefined;

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Where the real gateway listens and the demo tenant's publishable key (starts the stack once). */
export function realGateway(): Promise<RealGatewayInfo> {
  info ??= getJson<RealGatewayInfo>('/stack/gateway');
  return info;
}

/** Applicants of each outcome, chosen and answered by the cleartext model, with the texts to show. */
export function applicants(): Promise<ApplicantCases> {
  cases ??= getJson<ApplicantCases>('/stack/applicants');
  return cases;
}

/** Mounts an element on the real gateway (demo tenant) and waits for its form. */
export async function mountReal(attrs: Parameters<typeof mount>[1] = {}): Promise<BlindScore> {
  const { url, publishableKey } = await realGateway();
  return mount(publishableKey, { ...attrs, gatewayUrl: url });
}

/** Answers every field the form asks (every party's, as demo mode shows them) with an applicant's values. */
export async function fill(el: BlindScore, features: CreditFeatures): Promise<void> {
  for (const descriptor of askedFeatures(await loadManifest())) {
    const value = features[descriptor.name];
    if (value !== undefined) await answer(el, descriptor.name, typeof value === 'number' ? String(value) : value);
  }
}

export interface GatewayRequest {
  method: string;
  /** Path on the gateway, e.g. `/v1/sessions/<id>/run`. */
  path: string;
  status: number;
}

/**
 * Records the page's `fetch` calls to the real gateway from now on (the element makes every call
 * but the key uploads with `fetch`; those go through `XMLHttpRequest` and show in resource timing).
 */
export async function watchGateway(): Promise<{
  requests: GatewayRequest[];
  /** Requests sent and not yet answered. */
  readonly pending: number;
  /** `GET /v1/sessions/:id` with the session's own token, as the page could make it. */
  sessionStatus(sessionId: string): Promise<{ status: number; body: { code?: string; runs?: { runNumber: number } } }>;
  stop(): void;
}> {
  const { url } = await realGateway();
  const requests: GatewayRequest[] = [];
  const tokens = new Map<string, string>();
  const original = window.fetch;
  let pending = 0;
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const target = new URL(input instanceof Request ? input.url : String(input), location.href);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (target.origin !== url) return original(input, init);
    pending++;
    let response: Response;
    try {
      response = await original(input, init);
    } finally {
      pending--;
    }
    requests.push({ method, path: target.pathname, status: response.status });
    if (method === 'POST' && target.pathname === '/v1/sessions' && response.ok) {
      const created = (await response.clone().json()) as { sessionId: string; token: string };
      tokens.set(created.sessionId, created.token);
    }
    return response;
  };
  return {
    requests,
    get pending() {
      return pending;
    },
    async sessionStatus(sessionId) {
      const token = tokens.get(sessionId);
      if (!token) throw new Error(`the page created no session ${sessionId} while watched`);
      const response = await original(`${url}/v1/sessions/${encodeURIComponent(sessionId)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: response.status, body: (await response.json()) as { code?: string; runs?: { runNumber: number } } };
    },
    stop: () => {
      window.fetch = original;
    },
  };
}
