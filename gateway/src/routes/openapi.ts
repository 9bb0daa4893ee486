/**
 * The OpenAPI 3.1 document of the public API, generated from the same zod schemas the routes
 * validate with, and 405 answers for known paths called with another method.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { PublicRoutes, PublicApiError } from '../../../protocol/public-api.ts';
import type { AppEnv } from '../env.ts';
import { securitySchemes } from './openapi-parts.ts';

export const openApiRoute = createRoute({
  method: 'get',
  path: PublicRoutes.openapi,
  operationId: 'getOpenApi',
  summary: 'This document',
  description: 'The OpenAPI 3.1 description of the public API. No authentication; any origin may read it.',
  responses: {
    200: { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: z.looseObject({ openapi: z.string() }) } } },
  },
});

let cached: unknown;

export function openApiDocument(app: OpenAPIHono<AppEnv>): unknown {
  if (!cached) {
    for (const [name, scheme] of Object.entries(securitySchemes)) {
      app.openAPIRegistry.registerComponent('securitySchemes', name, scheme);
    }
    cached = app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'BlindScore gateway',
        version: '1.0.0',
        description:
          'Privacy-preserving credit decisions: browsers and party backends upload TFHE keys and ciphertexts; ' +
          'the gateway routes them to the evaluator and never sees a plaintext. Errors are `{ code, message, requestId }`.',
      },
    });
  }
  return cached;
}

/** Registers 405 `method_not_allowed` for every public path (after the real routes). */
export function methodNotAllowed(app: OpenAPIHono<AppEnv>): void {
  for (const path of Object.values(PublicRoutes)) {
    app.all(path, (c) => {
      throw new PublicApiError(405, 'method_not_allowed', `${c.req.method} is not allowed on this path.`);
    });
  }
}
