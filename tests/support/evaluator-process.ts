/**
 * The real evaluator as a child process (`evaluator/service/main.ts` under tsx) on a loopback
 * port, with a given shared secret, as the gateway in workerd reaches it in development.
 * Started and stopped by pid; a suite can stop it and start it again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface EvaluatorProcess {
  url: string;
  /** The process id (e.g. to read its memory in /proc). */
  pid: number;
  /** Graceful: SIGTERM (runs in flight may finish), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** A crash: SIGKILL now. */
  kill(): Promise<void>;
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface EvaluatorOptions {
  /** `EVALUATOR_SHARED_SECRET` (≥ 32 bytes). */
  secret: string;
  /** Extra `EVALUATOR_*` settings (queue sizes, pre-expansion, …) over the defaults below. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export async function startEvaluatorProcess(port: number, options: EvaluatorOptions): Promise<EvaluatorProcess> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'evaluator/service/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      // As `npm run evaluator:start` and the image set it: glibc would otherwise keep freed
      // key-sized buffers resident (evaluator/README.md, "Runs, memory and shutdown").
      MALLOC_MMAP_THRESHOLD_: '131072',
      EVALUATOR_HOST: '127.0.0.1',
      EVALUATOR_PORT: String(port),
      EVALUATOR_SHARED_SECRET: options.secret,
      EVALUATOR_POOL_SIZE: '2',
      EVALUATOR_LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`evaluator exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`evaluator not ready after ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
