/**
 * Stand-in for workerd's `cloudflare:workers` module so Node can load the gateway's module graph
 * and read its route table. Nothing is served or run through it: every request in these suites
 * goes to the real Worker in workerd.
 */
export class DurableObject<Env = unknown> {
  constructor(
    readonly ctx: unknown,
    readonly env: Env,
  ) {}
}

export class WorkerEntrypoint<Env = unknown> {
  constructor(
    readonly ctx: unknown,
    readonly env: Env,
  ) {}
}
