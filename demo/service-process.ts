/**
 * One service of the demo stack as a child process: spawned in its own process group (wrangler
 * runs workerd and esbuild as grandchildren, and the whole group must stop together), its output
 * appended to a log file, ready when a health probe answers, stopped with SIGTERM and, after a
 * grace period, SIGKILL. The same spec can be started again after a stop (restart tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

export interface ServiceSpec {
  /** Short name used in messages and log prefixes: `evaluator`, `gateway`. */
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Resolves true once the service answers its health check. */
  probe: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** How long SIGTERM gets before SIGKILL. */
  stopGraceMs: number;
  /** Also write each output line to this stream, prefixed with the name. */
  echo?: NodeJS.WritableStream | undefined;
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly service: string,
    message: string,
    /** The end of the service's log, for the person reading the message. */
    readonly logTail: string,
  ) {
    super(message);
  }
}

const PROBE_INTERVAL_MS = 200;

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Exits before readiness are start-up failures, reported by `start()` itself. */
  private ready = false;
  private log: WriteStream | undefined;
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly exitListeners = new Set<(code: number | null, signal: NodeJS.Signals | null) => void>();

  constructor(readonly spec: ServiceSpec) {}

  /** The process group id (the child's pid) while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Called when the process exits without {@link stop} having been asked, e.g. a crash or a kill
   * from outside. Returns an unsubscribe function.
   */
  onUnexpectedExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /**
   * Resolves with the first output line from now on that `matches` (e.g. a log record saying a
   * run started); rejects after `timeoutMs`.
   */
  waitForOutput(matches: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineListeners.delete(listener);
        reject(new Error(`${this.spec.name} printed no awaited line within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (line: string) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        resolve(line);
      };
      this.lineListeners.add(listener);
    });
  }

  /** Spawns the process and waits until its probe succeeds. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    const { spec } = this;
    this.stopping = false;
    this.ready = false;
    this.log = createWriteStream(spec.logFile, { flags: 'a' });
    this.log.write(`--- ${new Date().toISOString()} starting ${spec.name}\n`);
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    this.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        this.log?.write(`--- ${new Date().toISOString()} ${spec.name} exited (${signal ?? `code ${code}`})\n`);
        resolve();
        if (this.ready && !this.stopping) for (const listener of this.exitListeners) listener(code, signal);
      }),
    );
    for (const stream of [child.stdout!, child.stderr!]) this.pipeLines(stream);
    await this.waitUntilReady(spawnError);
    this.ready = true;
  }

  /** SIGTERM to the whole process group, SIGKILL after the grace period; resolves once it exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    if (this.running) {
      this.signalGroup('SIGTERM');
      const timer = setTimeout(() => this.signalGroup('SIGKILL'), this.spec.stopGraceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Grandchildren that outlive their parent (workerd after a wrangler crash) go too.
    this.signalGroup('SIGKILL');
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = undefined;
  }

  /** SIGKILL to the whole group, as a crash would end it; resolves once it exited. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.signalGroup('SIGKILL');
    await this.exited;
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = undefined;
  }

  /** Freezes the whole group (SIGSTOP), e.g. to hold a run still while a test breaks something else. */
  pause(): void {
    if (this.running) this.signalGroup('SIGSTOP');
  }

  /** Lets a paused group run again (SIGCONT). */
  resume(): void {
    if (this.running) this.signalGroup('SIGCONT');
  }

  /** Synchronous last resort for `process.on('exit')`: kill the group, no waiting. */
  killNow(): void {
    this.stopping = true;
    // Only a group whose leader still runs: an old group id may since have been reused.
    if (this.running) this.signalGroup('SIGKILL');
  }

  /** The last `lines` lines of the service's log file. */
  logTail(lines = 25): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      // Negative pid: the process group the detached child leads.
      process.kill(-pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  private pipeLines(stream: NodeJS.ReadableStream): void {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.log?.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        this.spec.echo?.write(`[${this.spec.name}] ${line}\n`);
        for (const listener of this.lineListeners) listener(line);
      }
    });
  }

  private async waitUntilReady(spawnError: Promise<Error>): Promise<void> {
    const { spec } = this;
    const deadline = Date.now() + spec.readyTimeoutMs;
    let failure: Error | undefined;
    void spawnError.then((e) => (failure = e));
    for (;;) {
      if (failure) {
        await this.stop();
        throw new ServiceError(spec.name, `${spec.name} could not be started: ${failure.message}`, this.logTail());
      }
      if (!this.running) {
        const code = this.child?.exitCode;
        await this.stop();
        throw new ServiceError(
          spec.name,
          `${spec.name} exited during start-up (${code === null ? this.child?.signalCode : `code ${code}`})`,
          this.logTail(),
        );
      }
      if (await spec.probe().catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new ServiceError(spec.name, `${spec.name} was not ready after ${Math.round(spec.readyTimeoutMs / 1000)} s`, this.logTail());
      }
      await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
    }
  }
}

/** A probe that is true when `GET url` answers 2xx within a second. */
export function httpProbe(url: string): () => Promise<boolean> {
  return async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  };
}
