/**
 * `npm start` itself, as a person runs it: it prints one URL that serves the bank page under
 * its security policy, Ctrl-C stops every service it started, and a taken port is refused with a
 * message that names it, before anything starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../demo/options.ts';
import { freePorts, isPortFree } from '../../demo/ports.ts';

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];
const dirs: string[] = [];

function start(args: string[]): Run {
  const runDir = mkdtempSync(join(tmpdir(), 'blindscore-start-'));
  dirs.push(runDir);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'demo', 'start.ts'), ...args, '--run-dir', runDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run = { child, stdout: () => stdout, stderr: () => stderr, exited };
  runs.push(run);
  return run;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  await expect.poll(condition, { message: `waiting for ${what}`, timeout: timeoutMs, interval: 200 }).toBe(true);
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null) {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints one URL serving the bank page, and Ctrl-C stops every service', async () => {
    const [port, gatewayPort, evaluatorPort] = (await freePorts(3)) as [number, number, number];
    const ownPage = 'http://localhost:3999';
    const run = start([
      '--port',
      String(port),
      '--gateway-port',
      String(gatewayPort),
      '--evaluator-port',
      String(evaluatorPort),
      '--allow-origin',
      ownPage,
    ]);
    await waitFor(() => run.stdout().includes('Ctrl-C') || run.child.exitCode !== null, 'the start-up message', 240_000);
    expect(run.child.exitCode, run.stderr()).toBeNull();

    // One URL to open; the other lines say how to embed the widget elsewhere.
    const urls = run.stdout().match(/https?:\/\/\S+/g) ?? [];
    expect(urls).toEqual([`http://127.0.0.1:${port}/`, `${ownPage}.`]);
    const publishableKey = /publishable-key="([^"]+)"/.exec(run.stdout())?.[1];
    const page = await fetch(urls[0]!);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain(`connect-src 'self' http://127.0.0.1:${gatewayPort}`);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/blind-score/blind-score.js"></script>');
    expect(html).toContain(`gateway-url="http://127.0.0.1:${gatewayPort}"`);
    expect((await fetch(new URL('/blind-score/blind-score.js', urls[0]))).status).toBe(200);
    // The gateway answers the page's origin, so the page can reach it.
    const manifest = await fetch(`http://127.0.0.1:${gatewayPort}/v1/manifest`, {
      headers: { origin: `http://127.0.0.1:${port}`, 'x-blindscore-key': /publishable-key="([^"]+)"/.exec(html)![1]! },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('access-control-allow-origin')).toBe(`http://127.0.0.1:${port}`);
    // `--allow-origin` adds a page of one's own to the local tenant, with the key printed.
    const fromOwnPage = await fetch(`http://127.0.0.1:${gatewayPort}/v1/manifest`, {
      headers: { origin: ownPage, 'x-blindscore-key': publishableKey! },
    });
    expect(fromOwnPage.status).toBe(200);
    expect(fromOwnPage.headers.get('access-control-allow-origin')).toBe(ownPage);

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    for (const p of [port, gatewayPort, evaluatorPort]) expect(await isPortFree(p), `port ${p} still in use`).toBe(true);
  });

  it('refuses a taken port by name, before starting anything', async () => {
    const [port, gatewayPort, evaluatorPort] = (await freePorts(3)) as [number, number, number];
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(gatewayPort, '127.0.0.1', resolve));
    try {
      const run = start(['--port', String(port), '--gateway-port', String(gatewayPort), '--evaluator-port', String(evaluatorPort)]);
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toContain(`Port ${gatewayPort} (the gateway) is already in use`);
      expect(run.stderr()).toContain('--gateway-port or BLINDSCORE_GATEWAY_PORT');
      expect(await isPortFree(evaluatorPort)).toBe(true);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('refuses invalid options with the flag and variable to fix', async () => {
    const run = start(['--port', '70000']);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('--port (BLINDSCORE_PORT): must be between 1 and 65535');
    const badOrigin = start(['--allow-origin', 'http://localhost:3000/page']);
    expect(await badOrigin.exited).toBe(2);
    expect(badOrigin.stderr()).toContain('--allow-origin (BLINDSCORE_ALLOW_ORIGINS): http://localhost:3000/page is not an origin');
  });
});
