/** `GET /v1/appearance`: the tenant's brand for the widget (publishable key, Origin checked). */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { AppearanceResponse } from '../../../protocol/public-api.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { publishableKey } from '../middleware/publishable-key/index.ts';
import { errorResponses, security } from './openapi-parts.ts';

export const appearance = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const getAppearance = createRoute({
  method: 'get',
  path: '/',
  operationId: 'getAppearance',
  summary: "The tenant's brand for the widget",
  description:
    'The `appearance` of the tenant configuration (theme, variables, rules per part), which the widget applies when the page sets ' +
    'none, so a partner page gets its brand with no code; `null` when the tenant sets none.',
  security: security.publishableKey,
  middleware: [publishableKey()],
  responses: {
    200: { description: 'The appearance', content: { 'application/json': { schema: AppearanceResponse } } },
    ...errorResponses(401, 403),
  },
});

appearance.openapi(getAppearance, (c) => {
  c.header('cache-control', 'private, max-age=300');
  return c.json({ appearance: c.get('tenant')?.appearance ?? null }, 200);
});
