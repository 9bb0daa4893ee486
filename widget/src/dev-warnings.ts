/**
 * Coded warnings for misconfiguration, issued once each and only in development builds: the
 * production bundle defines `import.meta.env.DEV` as `false` and drops them.
 */
const DEV_MODE = (import.meta as { env?: { DEV?: boolean } }).env?.DEV ?? true;

export const DevWarning = {
  NoPublishableKey: 'no-publishable-key',
  InsecureGateway: 'insecure-gateway',
  UnknownMode: 'unknown-mode',
  UnknownPrepare: 'unknown-prepare',
  UnknownLocale: 'unknown-locale',
  KeyCacheFailed: 'key-cache-failed',
  UnanswerableWorkerRequest: 'unanswerable-worker-request',
  OriginNotAllowed: 'origin-not-allowed',
  InvalidAppearance: 'invalid-appearance',
  UnknownCurrency: 'unknown-currency',
  CurrencyOverride: 'currency-override',
} as const;
export type DevWarning = (typeof DevWarning)[keyof typeof DevWarning];

const issued = new Set<DevWarning>();

export function warnOnce(code: DevWarning, message: string): void {
  if (!DEV_MODE || issued.has(code)) return;
  issued.add(code);
  console.warn(`<blind-score> [${code}] ${message} (see widget/README.md#${code})`);
}

/** Whether a gateway URL may carry ciphertexts and tokens: https, or loopback for development. */
export function isSecureGatewayUrl(url: string): boolean {
  try {
    const u = new URL(url, globalThis.location?.href);
    return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}
