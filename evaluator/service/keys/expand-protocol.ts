/**
 * Messages between the service and its key-expansion worker. The expanded key itself is engine
 * data whose big arrays are `SharedArrayBuffer`s, so it crosses threads without a copy.
 */
import { z } from 'zod';

export const ExpandRequest = z.object({ id: z.number().int(), bytes: z.instanceof(Uint8Array) }).strict();
export type ExpandRequest = z.infer<typeof ExpandRequest>;

export const ExpandReply = z.discriminatedUnion('ok', [
  z.object({ id: z.number().int(), ok: z.literal(true), key: z.record(z.string(), z.unknown()), ms: z.number() }).strict(),
  z
    .object({
      id: z.number().int(),
      ok: z.literal(false),
      error: z.object({ name: z.string(), code: z.string().optional(), message: z.string() }).strict(),
    })
    .strict(),
]);
export type ExpandReply = z.infer<typeof ExpandReply>;
