// Types for workerd's built-in `cloudflare:workers` module, taken from the importable
// (non-global) build of @cloudflare/workers-types so they do not clash with the DOM and Node
// globals the rest of the repository type-checks against.
declare module 'cloudflare:workers' {
  import { CloudflareWorkersModule } from '@cloudflare/workers-types/latest/index.ts';
  export import DurableObject = CloudflareWorkersModule.DurableObject;
  export import WorkerEntrypoint = CloudflareWorkersModule.WorkerEntrypoint;
}
