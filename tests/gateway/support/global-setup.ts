/**
 * Runs in Node before the workerd suites: publishes the test tenants (their party-key hashes are
 * computed here) and starts a loopback HTTP server that answers every request with the answer
 * the running test last scripted (`POST /__answer`), so the gateway's evaluator client reads
 * real HTTP answers from inside workerd.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { testTenants } from '../../workerd/support/tenants.ts';
import type { ScriptedAnswer } from './provided.ts';


export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let answer: ScriptedAnswer = { status: 500, headers: {}, body: { code: 'internal', message: 'no answer scripted' } };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/__answer') {
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
