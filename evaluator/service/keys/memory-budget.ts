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
