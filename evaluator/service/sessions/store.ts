import type { MemoryBudget, StoredReservation } from '../keys/memory-budget.ts';
import { Session } from './session.ts';
import { EvaluatorApiError } from '../../../protocol/evaluator-api.ts';

export type EndReason = 'deleted' | 'expired' | 'shutdown';

export interface SessionStoreOptions {
  ttlMs: number;
  budget: MemoryBudget;
  /** Called after a session is removed, to cancel its run and drop its expanded key. */
  onEnd: (session: Session, reason: EndReason) => void;
  now?: () => number;
  /** How long an expired id answers 410, and how many such ids are kept. */
  tombstoneMs?: number;
  maxTombstones?: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  // Insertion order = expiry order, so the oldest tombstones are dropped first.
  private readonly tombstones = new Map<string, number>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly opts: SessionStoreOptions) {
    this.now = opts.now ?? Date.now;
    // Expiry is also checked on every access; the sweep frees memory of sessions nobody asks for.
    this.sweeper = setInterval(() => this.sweep(), Math.min(opts.ttlMs, 10_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Creates a session, or returns the existing one if it has the same model version (a retried
   * create is not an error).
   */
  create(id: string, modelVersion: string, ttlMs?: number): { session: Session; created: boolean } {
    const existing = this.find(id);
    if (existing) {
      if (existing.modelVersion !== modelVersion) {
        throw new EvaluatorApiError(409, 'session_exists', 'a session with this id exists for another model version');
      }
      return { session: existing, created: false };
    }
    this.tombstones.delete(id);
    const now = this.now();
    const session = new Session(id, modelVersion, now, now + Math.min(ttlMs ?? this.opts.ttlMs, this.opts.ttlMs));
    this.sessions.set(id, session);
    return { session, created: true };
  }

  /** @throws {ApiError} 404 `session_not_found` or 410 `session_expired` */
  get(id: string): Session {
    const s = this.find(id);
    if (s) return s;
    if (this.tombstones.has(id)) throw new EvaluatorApiError(410, 'session_expired', 'session expired and its data was deleted');
    throw new EvaluatorApiError(404, 'session_not_found', 'no such session');
  }

  /** Removes a session and everything it holds. @throws {ApiError} 404/410 as {@link get} */
  delete(id: string): void {
    this.end(this.get(id), 'deleted');
  }

  /**
   * Changes a session's share of the memory budget by `delta` bytes.
   * @throws {ApiError} 503 `memory_exhausted` when growth does not fit
   */
  account(session: Session, delta: number): void {
    if (delta > 0 && !this.opts.budget.tryStore(delta)) {
      throw new EvaluatorApiError(503, 'memory_exhausted', 'the evaluator has no memory for more session data now', {
        retriable: true,
      });
    }
    if (delta < 0) this.opts.budget.releaseStored(-delta);
    session.storedBytes += delta;
  }

  /**
   * Charges `bytes` that arrived under `reservation` to a session: the reserved bytes become the
   * session's, any excess is admitted as by {@link account}, the unused rest is freed.
   * @throws {ApiError} 503 `memory_exhausted` when an excess does not fit
   */
  adopt(session: Session, reservation: StoredReservation, bytes: number): void {
    const reserved = Math.min(bytes, reservation.bytes);
    this.account(session, bytes - reserved);
    reservation.keep(reserved);
    session.storedBytes += reserved;
  }

  /** Ends every expired session. */
  sweep(): void {
    const now = this.now();
    for (const s of this.sessions.values()) if (s.expiresAt <= now) this.end(s, 'expired');
    const keepUntil = now - (this.opts.tombstoneMs ?? 3_600_000);
    for (const [id, at] of this.tombstones) {
      if (at > keepUntil) break;
      this.tombstones.delete(id);
    }
  }

  /** Ends every session (shutdown) and stops the sweeper. */
  close(): void {
    clearInterval(this.sweeper);
    for (const s of this.sessions.values()) this.end(s, 'shutdown');
  }

  private find(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (s && s.expiresAt <= this.now()) {
      this.end(s, 'expired');
      return undefined;
    }
    return s;
  }

  private end(session: Session, reason: EndReason): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.opts.budget.releaseStored(session.storedBytes);
    session.storedBytes = 0;
    session.serverKey = undefined;
    session.inputs.clear();
    session.result = undefined;
    session.precomputed?.value.cancel();
    session.precomputed = undefined;
    if (reason === 'expired') {
      this.tombstones.set(session.id, this.now());
      if (this.tombstones.size > (this.opts.maxTombstones ?? 100_000)) {
        const oldest = this.tombstones.keys().next().value;
        if (oldest !== undefined) this.tombstones.delete(oldest);
      }
    }
    this.opts.onEnd(session, reason);
  }
}
