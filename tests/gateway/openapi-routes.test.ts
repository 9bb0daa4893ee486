/**
 * The OpenAPI document and the app's own route table, read inside workerd: every route the app
 * registers is documented, and nothing else.
 */
import { SELF } from 'cloudflare:test';
import { expect, test } from 'vitest';
import { app } from '../../gateway/src/index.ts';
import { PublicRoutes } from '../../protocol/public-api.ts';

type Doc = { paths: Record<string, Record<string, unknown>> };

test('every route of the app is in the document, and nothing else', async () => {
  const res = await SELF.fetch(`http://gateway.test${PublicRoutes.openapi}`);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as Doc;
  const served = new Set(
    app.routes
      .filter((r) => r.method !== 'ALL') // middleware and 405 fallbacks
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`),
  );
  const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
  expect([...served].sort()).toEqual([...documented].sort());
  expect(served.size).toBe(17);
});
