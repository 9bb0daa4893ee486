/** What the Node-side global setup hands the workerd suites (`inject`), and the scripted server's answers. */

/** The shared secret the scripted server proves its boot identity with (test-only). */
export const SCRIPTED_SERVER_SECRET = 'config-test-shared-secret-0123456789abcdef';

export interface ScriptedAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The `TENANTS` test tenants (tests/workerd/support/tenants.ts), party-key hashes computed in Node. */
    testTenants: unknown[];
    /** A loopback HTTP server answering every request with the last `POST /__answer`. */
    scriptedServerUrl: string;
  }
}
