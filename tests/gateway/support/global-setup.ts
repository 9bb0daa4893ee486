/**
 * Runs in Node before the workerd suites: publishes the test tenants (their party-key hashes are
 * computed here) and starts a loopback HTTP server that answers every request with the answer
 * the running test last scripted (`POST /__answer`), so the gateway's evaluator client reads
 * real HTTP answers from inside workerd. Like an evaluator, it proves a boot identity on
 * `GET /identity` with the shared secret, which the client learns before its first request.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { EvaluatorRoutes, importSharedSecret, proveEvaluatorIdentity } from '../../../protocol/evaluator-api.ts';
import { testTenants } from '../../workerd/support/tenants.ts';
import { SCRIPTED_SERVER_SECRET, type ScriptedAnswer } from './provided.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const key = await importSharedSecret(SCRIPTED_SERVER_SECRET);
  const bootId = randomBytes(16).toString('hex');
  let answer: ScriptedAnswer = { status: 500, headers: {}, body: { code: 'internal', message: 'no answer scripted' } };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://scripted.test');
      if (req.method === 'GET' && url.pathname === EvaluatorRoutes.identity) {
        void proveEvaluatorIdentity(key, url.searchParams.get('challenge') ?? '', bootId).then((proof) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(proof));
        });
        return;
      }
      if (req.method === 'POST' && url.pathname === '/__answer') {
        answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ScriptedAnswer;
        res.writeHead(204).end();
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  project.provide('testTenants', testTenants());
  project.provide('scriptedServerUrl', `http://127.0.0.1:${port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
