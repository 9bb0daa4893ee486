/** What the Node-side global setup hands the workerd suites (`inject`), and the scripted server's answers. */

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
