/** `GET /v1/manifest`: the public model manifest (publishable key, Origin checked if sent; or a party key). */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { Manifest } from '../../../model/manifest.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { publishableKey } from '../middleware/publishable-key/index.ts';
import { servedManifest } from '../model.ts';
import { errorResponses, security } from './openapi-parts.ts';

export const manifest = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const getManifest = createRoute({
  method: 'get',
  path: '/',
  operationId: 'getManifest',
  summary: 'The public model manifest',
  description:
    'Feature schema, which party owns each feature, quantizers, FHE parameter set, labels, explanation bins and the model version ' +
    'every session and upload must name. The decision tree itself stays private. Party backends read it with their party key.',
  security: security.publishableKeyOrParty,
  middleware: [publishableKey({ allowPartyKey: true })],
  responses: {
    200: { description: 'The manifest', content: { 'application/json': { schema: Manifest.meta({ id: 'Manifest' }) } } },
    ...errorResponses(401, 403),
  },
});

manifest.openapi(getManifest, (c) => {
  const served = servedManifest();
  const etag = `"${served.modelVersion}"`;
  c.header('cache-control', 'private, max-age=300');
  c.header('etag', etag);
  if (c.req.header('if-none-match') === etag) return c.body(null, 304) as never;
  return c.json(served, 200);
});
