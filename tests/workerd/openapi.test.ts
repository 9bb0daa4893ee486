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

test('key uploads document their 422s: a bad key is refused on upload, a wrong final hash on completion', () => {
  const responses = (path: string, method: string) =>
    doc.paths[`/v1/sessions/{sessionId}/${path}`]![method]!.responses as Record<string, { description: string }>;
  expect(responses('public-key', 'put')['422']?.description).toContain('`invalid_public_key`');
  expect(responses('server-key', 'put')['422']?.description).toContain('`invalid_server_key`');
  expect(responses('server-key/uploads/{uploadId}/parts/{partNumber}', 'put')['422']?.description).toContain('`invalid_server_key`');
  expect(responses('server-key/uploads/{uploadId}/parts/{partNumber}', 'put')['409']?.description).toContain('`part_out_of_order`');
  expect(responses('server-key/uploads/{uploadId}/complete', 'post')['422']?.description).toContain('`server_key_hash_mismatch`');
  expect(responses('run', 'post')['429']?.description).toContain('`run_limit_reached`');
});
