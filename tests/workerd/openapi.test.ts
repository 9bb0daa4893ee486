/**
 * The OpenAPI document the Worker serves from real `wrangler dev`: valid OpenAPI 3.1 (checked
 * in Node: the validator compiles schemas with `new Function`, which workerd refuses), every
 * operation named and its errors in the shared codes. Its one-to-one correspondence with the
 * app's route table is checked inside workerd (tests/gateway/openapi-routes.test.ts).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PublicErrorCode, PublicRoutes } from '../../protocol/public-api.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>> };

let gw: TestGateway;
let doc: Doc;

beforeAll(async () => {
  gw = await startGateway();
  const res = await gw.fetch(PublicRoutes.openapi);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
});
afterAll(() => gw?.dispose());

test('the document is valid OpenAPI 3.1', async () => {
  expect(doc.openapi).toBe('3.1.0');
  const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
});

test('every operation is named and documents its errors with the shared codes', () => {
  const codes = new Set(Object.keys(PublicErrorCode));
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const mentioned = [...String((response as { description: string }).description).matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
        expect(mentioned.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        for (const code of mentioned) expect(codes.has(code)).toBe(true);
      }
    }
  }
});

test('the public key upload documents its 422, the server key upload has none', () => {
  const put = (kind: string) => doc.paths[`/v1/sessions/{sessionId}/${kind}`]!['put']!.responses as Record<string, { description: string }>;
  expect(put('public-key')['422']?.description).toContain('`invalid_public_key`');
  expect(put('server-key')['422']).toBeUndefined();
});
