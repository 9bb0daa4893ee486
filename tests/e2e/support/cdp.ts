/**
 * Chromium driven over the bare DevTools protocol, for the benchmark: no Playwright in between,
 * so nothing instruments the page's network (Playwright copies request bodies on the page's
 * thread, which inflates a 30 MB upload) and exactly the domains a profile needs are enabled.
 * Launches Debian's Chromium (optionally inside a cgroup that caps its CPU), speaks CDP over the
 * browser's WebSocket with flat sessions, and auto-attaches to dedicated workers so a network
 * profile reaches their requests too (the worker is held until its emulation is set).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../support/chromium.ts';

type Params = Record<string, unknown>;
interface Pending {
  resolve: (v: Params) => void;
  reject: (e: Error) => void;
  method: string;
}

/** `Network.emulateNetworkConditions` values (throughputs in bytes per second). */
export interface NetworkProfile {
  latency: number;
  downloadThroughput: number;
  uploadThroughput: number;
}

export class CdpConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(method: string, params: Params, sessionId?: string) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => {
      const msg = JSON.parse(String(e.data)) as {
        id?: number;
        result?: Params;
        error?: { message: string };
        method?: string;
        params?: Params;
        sessionId?: string;
      };
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result ?? {});
      } else if (msg.method) {
        for (const l of this.listeners) l(msg.method, msg.params ?? {}, msg.sessionId);
      }
    });
    ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: the browser closed the connection`));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<CdpConnection> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`could not connect to ${url}`)), { once: true });
    });
    return new CdpConnection(ws);
  }

  send<T = Params>(method: string, params: Params = {}, sessionId?: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: Params) => void, reject, method });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(listener: (method: string, params: Params, sessionId?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.ws.close();
  }
}

export interface LaunchedBrowser {
  cdp: CdpConnection;
  /** How the browser's CPU was limited, for the benchmark's JSON. */
  cpu: { method: 'none' } | { method: 'cgroup-v1-cpu-quota'; cpus: number; cgroup: string };
  close(): Promise<void>;
}

const CGROUP_CPU_ROOT = '/sys/fs/cgroup/cpu';

/**
 * Starts Chromium with a DevTools port. With `cpus`, the whole browser (every process it forks:
 * renderer, its workers, network service) runs in a fresh cgroup v1 `cpu` group limited to that
 * many CPUs (`cfs_quota_us / cfs_period_us`); the shell joins the group before it execs Chromium,
 * so no process escapes it. Throws when the controller is not writable.
 */
export async function launchBrowser(options: { cpus?: number } = {}): Promise<LaunchedBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'blindscore-bench-chromium-'));
  const args = [...CHROMIUM_ARGS, '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, '--window-size=1280,1000', 'about:blank'];
  let cgroup: string | undefined;
  let child: ChildProcess;
  if (options.cpus !== undefined) {
    if (!existsSync(join(CGROUP_CPU_ROOT, 'cpu.cfs_quota_us'))) throw new Error(`no cgroup v1 cpu controller at ${CGROUP_CPU_ROOT}`);
    cgroup = join(CGROUP_CPU_ROOT, `blindscore-bench-${process.pid}-${Date.now()}`);
    mkdirSync(cgroup);
    const period = 100_000;
    writeFileSync(join(cgroup, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(cgroup, 'cpu.cfs_quota_us'), String(Math.round(options.cpus * period)));
    child = spawn('sh', ['-c', `echo $$ > "$0/cgroup.procs" && exec "$@"`, cgroup, CHROMIUM_PATH, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } else {
    child = spawn(CHROMIUM_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const wsUrl = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not print its DevTools address: ${text}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}): ${text}`));
    });
  });
  child.stderr!.resume();
  const cdp = await CdpConnection.connect(wsUrl);
  return {
    cdp,
    cpu: cgroup
      ? { method: 'cgroup-v1-cpu-quota', cpus: options.cpus!, cgroup: `cpu:/${cgroup.slice(CGROUP_CPU_ROOT.length + 1)}` }
      : { method: 'none' },
    async close() {
      await cdp.send('Browser.close').catch(() => undefined);
      cdp.close();
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 10_000);
          child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      if (cgroup) {
        // The group can go once its processes have: wait for Chromium's children to leave it.
        for (let i = 0; i < 100 && readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').trim() !== ''; i++)
          await new Promise((r) => setTimeout(r, 100));
        try {
          rmdirSync(cgroup);
        } catch {
          // Still busy: the kernel frees an empty group later; a leftover name is harmless.
        }
      }
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface CdpPage {
  sessionId: string;
  /** Evaluates `expression` in the page; awaits a returned promise; returns the value (JSON). */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens a page in a fresh browser context (a first visit: empty cache and storage). With
 * `network`, the page and each dedicated worker it starts get that emulation (the worker is
 * paused at start until its emulation is set); Network is enabled with no post data kept.
 */
export async function openPage(cdp: CdpConnection, options: { network?: NetworkProfile; initScript?: string }): Promise<CdpPage> {
  const { browserContextId } = await cdp.send<{ browserContextId: string }>('Target.createBrowserContext', { disposeOnDetach: true });
  const { targetId } = await cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank', browserContextId });
  const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
  const emulate = async (session: string) => {
    if (!options.network) return;
    await cdp.send('Network.enable', { maxPostDataSize: 0, maxTotalBufferSize: 0, maxResourceBufferSize: 0 }, session);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...options.network }, session);
  };
  const stop = cdp.on((method, params, from) => {
    if (method !== 'Target.attachedToTarget' || from !== sessionId) return;
    const child = params as { sessionId: string; targetInfo: { type: string } };
    void (async () => {
      if (child.targetInfo.type === 'worker') await emulate(child.sessionId).catch(() => undefined);
      await cdp.send('Runtime.runIfWaitingForDebugger', {}, child.sessionId).catch(() => undefined);
    })();
  });
  await emulate(sessionId);
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
  await cdp.send('Page.enable', {}, sessionId);
  if (options.initScript) await cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: options.initScript }, sessionId);
  return {
    sessionId,
    async evaluate<T>(expression: string): Promise<T> {
      const r = await cdp.send<{ result: { value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } }>(
        'Runtime.evaluate',
        { expression, awaitPromise: true, returnByValue: true },
        sessionId,
      );
      if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value as T;
    },
    async close() {
      stop();
      await cdp.send('Target.disposeBrowserContext', { browserContextId }).catch(() => undefined);
    },
  };
}
