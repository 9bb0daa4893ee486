/**
 * Expanded server keys, least-recently-used. Expansion (CSPRNG masks, Fourier transform of the
 * bootstrap key) takes seconds and ~4× the compressed size, while the compressed bytes stay with
 * the session; so expanded keys are a cache: made ahead of the run when memory allows
 * ({@link ExpandedKeyCache.prefetch}), evicted when idle and memory is short, and re-made on
 * demand ({@link ExpandedKeyCache.acquire}).
 */
import type { Logger } from '../log.ts';
import type { MemoryBudget } from './memory-budget.ts';

/** An expanded key and its resident size. */
export interface Expanded<K> {
  key: K;
  bytes: number;
  /** Called once when the cache lets the key go (evicted, or its session ended): what else holds it lets go too. */
  dispose?: () => void;
}

/** A key in use by a run; `release()` makes it evictable again. */
export interface KeyLease<K> {
  key: K;
  release(): void;
}

interface Entry<K> {
  /** Settles once expansion finished; the entry is dropped if it failed. */
  ready: Promise<Expanded<K>>;
  value?: Expanded<K>;
  users: number;
  /** Bytes this entry holds in the budget: the estimate while expanding, then the real size. */
  accounted: number;
  /** Set when the session went away during expansion: free the key as soon as it exists. */
  dropped: boolean;
}

export interface ExpandedKeyCacheOptions<K> {
  expand: (compressed: Uint8Array) => Promise<Expanded<K>>;
  budget: MemoryBudget;
  log: Logger;
  /** Expected size of one expanded key before any was measured. */
  initialEstimateBytes: number;
  /** Told whenever the cache let go of an expanded key, so its memory can be reclaimed now. */
  onRelease?: () => void;
  /** Told when a session's key finished expanding (work waiting for it may start). */
  onExpanded?: (sessionId: string) => void;
}

export class ExpandedKeyCache<K> {
  // Map iteration order is the LRU order: a touched entry is re-inserted at the end.
  private readonly entries = new Map<string, Entry<K>>();
  private readonly initialEstimate: number;
  /** Largest expanded key measured so far; replaces the initial estimate once known. */
  private measured = 0;
  private counters = { expansions: 0, evictions: 0, hits: 0 };

  constructor(private readonly opts: ExpandedKeyCacheOptions<K>) {
    this.initialEstimate = opts.initialEstimateBytes;
  }

  /** The largest expanded key measured so far (or the initial estimate): the run reserve unit. */
  get estimateBytes(): number {
    return this.measured || this.initialEstimate;
  }

  stats() {
    return { entries: this.entries.size, ...this.counters };
  }

  /** Where a session's expanded key is. */
  state(sessionId: string): 'none' | 'expanding' | 'ready' {
    const entry = this.entries.get(sessionId);
    return entry === undefined ? 'none' : entry.value === undefined ? 'expanding' : 'ready';
  }

  /** Starts expanding a session's key in the background if it fits without evicting keys in use. */
  prefetch(sessionId: string, compressed: Uint8Array): void {
    if (this.entries.has(sessionId)) return;
    if (!this.makeRoom(this.estimateBytes)) return;
    this.start(sessionId, compressed).ready.catch(() => {
      // Logged in start(); the run will try again and report the failure.
    });
  }

  /** The expanded key of a session, expanding it now if needed. Release the lease after use. */
  async acquire(sessionId: string, compressed: Uint8Array): Promise<KeyLease<K> & { expandedNow: boolean }> {
    let entry = this.entries.get(sessionId);
    const expandedNow = entry?.value === undefined;
    if (entry) {
      this.counters.hits += entry.value ? 1 : 0;
      this.entries.delete(sessionId);
      this.entries.set(sessionId, entry);
    } else {
      if (!this.makeRoom(this.estimateBytes)) {
        // Admission keeps a reserve per concurrent run, so this means the estimate was low.
        this.opts.log.warn({ sessionId, expandedBytes: this.opts.budget.expanded }, 'expanding a key over the memory budget');
      }
      entry = this.start(sessionId, compressed);
    }
    entry.users++;
    try {
      const value = await entry.ready;
      return { key: value.key, expandedNow, release: this.releaser(entry) };
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  /**
   * A lease on a session's key if it is expanded now, else undefined: never starts an expansion
   * (for work that may wait, unlike a run, and must not make room by evicting other keys).
   */
  lease(sessionId: string): KeyLease<K> | undefined {
    const entry = this.entries.get(sessionId);
    if (entry?.value === undefined) return undefined;
    this.entries.delete(sessionId);
    this.entries.set(sessionId, entry);
    entry.users++;
    return { key: entry.value.key, release: this.releaser(entry) };
  }

  /** Forgets a session's expanded key (now, or when its last user releases it). */
  drop(sessionId: string): void {
    const entry = this.entries.get(sessionId);
    if (!entry) return;
    this.entries.delete(sessionId);
    entry.dropped = true;
    if (entry.users === 0) this.free(entry);
  }

  /** Ends one use of `entry`, once; frees it if its session is gone and no one uses it. */
  private releaser(entry: Entry<K>): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.dropped && entry.users === 0) this.free(entry);
    };
  }

  private start(sessionId: string, compressed: Uint8Array): Entry<K> {
    const t0 = performance.now();
    // Reserve the estimate now so concurrent expansions do not overcommit the budget.
    const entry: Entry<K> = { users: 0, dropped: false, accounted: this.estimateBytes, ready: Promise.resolve(undefined as never) };
    this.opts.budget.addExpanded(entry.accounted);
    this.counters.expansions++;
    entry.ready = this.opts.expand(compressed).then(
      (value) => {
        entry.value = value;
        this.measured = Math.max(this.measured, value.bytes);
        this.opts.budget.addExpanded(value.bytes - entry.accounted);
        entry.accounted = value.bytes;
        this.opts.log.info({ sessionId, expandedBytes: value.bytes, ms: Math.round(performance.now() - t0) }, 'server key expanded');
        if (entry.dropped && entry.users === 0) this.free(entry);
        else this.opts.onExpanded?.(sessionId);
        return value;
      },
      (err: unknown) => {
        if (this.entries.get(sessionId) === entry) this.entries.delete(sessionId);
        this.free(entry);
        this.opts.log.warn({ sessionId, err: String(err) }, 'server key expansion failed');
        throw err;
      },
    );
    this.entries.set(sessionId, entry);
    return entry;
  }

  private free(entry: Entry<K>): void {
    this.opts.budget.releaseExpanded(entry.accounted);
    entry.accounted = 0;
    if (entry.value === undefined) return;
    const { dispose } = entry.value;
    entry.value = undefined;
    dispose?.();
    this.opts.onRelease?.();
  }

  /** Evicts idle expanded keys, oldest first, until `bytes` fit. */
  private makeRoom(bytes: number): boolean {
    for (const [id, entry] of this.entries) {
      if (this.opts.budget.expandedRoom() >= bytes) return true;
      if (entry.users > 0 || entry.value === undefined) continue;
      this.entries.delete(id);
      this.free(entry);
      this.counters.evictions++;
    }
    return this.opts.budget.expandedRoom() >= bytes;
  }
}
