/**
 * Memory accounting for session data. Two kinds of bytes share one budget:
 *
 * - *stored* bytes (compressed server keys, ciphertexts, results), admitted only while they
 *   leave room for one expanded key per concurrent run, so an admitted session can always run;
 * - *expanded* keys, cached and evicted least-recently-used by {@link ExpandedKeyCache}.
 */
export class MemoryBudget {
  private storedBytes = 0;
  private expandedBytes = 0;

  constructor(
    readonly totalBytes: number,
    /** Bytes kept free for the expanded keys of running runs. */
    private readonly runReserveBytes: () => number,
  ) {}

  get stored(): number {
    return this.storedBytes;
  }
  get expanded(): number {
    return this.expandedBytes;
  }
  get used(): number {
    return this.storedBytes + this.expandedBytes;
  }

  /** Admits `bytes` of session data if they fit beside the run reserve. */
  tryStore(bytes: number): boolean {
    if (this.storedBytes + bytes > this.totalBytes - this.runReserveBytes()) return false;
    this.storedBytes += bytes;
    return true;
  }
  releaseStored(bytes: number): void {
    this.storedBytes = Math.max(0, this.storedBytes - bytes);
  }

  /**
   * Admits `bytes` of session data that are still to arrive (an upload's declared length), so
   * concurrent uploads cannot each pass admission and then all allocate their bodies.
   * @returns the reservation, or undefined when the bytes do not fit (see {@link tryStore}).
   */
  tryReserve(bytes: number): StoredReservation | undefined {
    return this.tryStore(bytes) ? new StoredReservation(this, bytes) : undefined;
  }

  /** Room left for expanded keys. */
  expandedRoom(): number {
    return this.totalBytes - this.storedBytes - this.expandedBytes;
  }
  addExpanded(bytes: number): void {
    this.expandedBytes += bytes;
  }
  releaseExpanded(bytes: number): void {
    this.expandedBytes = Math.max(0, this.expandedBytes - bytes);
  }
}

/** Stored bytes admitted before their data arrived; released once, kept in part, or both. */
export class StoredReservation {
  private held: number;

  constructor(
    private readonly budget: MemoryBudget,
    bytes: number,
  ) {
    this.held = bytes;
  }

  /** Bytes still held by the reservation. */
  get bytes(): number {
    return this.held;
  }

  /**
   * Turns `bytes` (at most {@link bytes}) of the reservation into stored data, which its new
   * owner releases with `releaseStored`, and returns the rest to the budget.
   */
  keep(bytes: number): void {
    if (bytes > this.held) throw new RangeError(`cannot keep ${bytes} bytes of a ${this.held}-byte reservation`);
    this.budget.releaseStored(this.held - bytes);
    this.held = 0;
  }

  /** Returns whatever is still held to the budget; later calls do nothing. */
  release(): void {
    this.budget.releaseStored(this.held);
    this.held = 0;
  }
}
