/**
 * Applicant mode as the test sees it from outside: every response body the page receives (to
 * show that none holds a party's upload), the bodies the page uploads (to tie the parties'
 * encryptions to the page's own public key), and the `npm run party` commands run by hand.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { SubmitReport } from '../../../party/index.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

export const sha256Hex = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface PageTraffic {
  /** `METHOD path` → SHA-256 of each request body the page sent there. */
  uploads: Map<string, string[]>;
  /** Bodies of every response the page read from the gateway and its own `/api/` (complete after `settle()`). */
  responses: { url: string; body: string }[];
  /** Waits for the bodies still being read (an event stream ends with its run). */
  settle(): Promise<void>;
  /** The body of the first response whose path matches, once it has been read. */
  bodyOf(path: RegExp): Promise<string>;
}

/** Records the page's traffic with the gateway and with the site's backend routes. */
export function recordTraffic(page: Page, gatewayUrl: string): PageTraffic {
  const gatewayOrigin = new URL(gatewayUrl).origin;
  const watched = (url: URL) => url.origin === gatewayOrigin || url.pathname.startsWith('/api/');
  const reading: { url: string; body: Promise<string | undefined> }[] = [];
  const arrived: (() => void)[] = [];
  const traffic: PageTraffic = {
    uploads: new Map(),
    responses: [],
    async settle() {
      await Promise.all(reading.map((r) => r.body));
    },
    async bodyOf(path) {
      for (;;) {
        const found = reading.find((r) => path.test(r.url));
        if (found) {
          const body = await found.body;
          if (body === undefined) throw new Error(`the page's response from ${found.url} could not be read`);
          return body;
        }
        await new Promise<void>((resolve) => arrived.push(resolve));
      }
    },
  };
  page.on('request', (request) => {
    const url = new URL(request.url());
    const body = request.postDataBuffer();
    if (!watched(url) || !body) return;
    const key = `${request.method()} ${url.pathname}`;
    traffic.uploads.set(key, [...(traffic.uploads.get(key) ?? []), sha256Hex(body)]);
  });
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (!watched(url) || response.request().method() === 'OPTIONS') return;
    const body = response.text().then(
      (text) => {
        traffic.responses.push({ url: url.pathname, body: text });
        return text;
      },
      // A stream cut by the page's own navigation or close: nothing more was received.
      () => undefined,
    );
    reading.push({ url: url.pathname, body });
    for (const resolve of arrived.splice(0)) resolve();
  });
  return traffic;
}

/** SHA-256 of every JSON object (nested ones too) in a body, serialized as `JSON.stringify` does. */
export function objectHashes(body: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    // An event stream: one JSON document per `data:` line.
    return body
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .flatMap((line) => objectHashes(line.slice(5)));
  }
  const hashes: string[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    hashes.push(sha256Hex(JSON.stringify(v)));
    for (const child of Object.values(v)) walk(child);
  };
  walk(value);
  return hashes;
}

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The CLI's report (stdout after npm's banner), when it succeeded. */
  report?: SubmitReport;
}

/** Runs a command line as printed by the page, from the repository root, as a person would in a shell. */
export function runCommand(command: string): Promise<CommandRun> {
  const { BLINDSCORE_PARTY_KEY: _unused, ...env } = process.env;
  const child = spawn('sh', ['-c', command], { cwd: ROOT, env: { ...env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const json = stdout.slice(stdout.indexOf('\n{') + 1);
      resolve({ code, stdout, stderr, ...(code === 0 ? { report: JSON.parse(json) as SubmitReport } : {}) });
    });
  });
}
