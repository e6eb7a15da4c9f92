/**
 * A counting semaphore for the filesystem driver's `maxthreads`. The reference wraps its
 * driver in a "regulator" that lets at most `maxthreads` blocking calls run at once. In
 * Node every fs call already runs on libuv's small thread pool, so the gate does not protect
 * threads; it bounds how many operations (and so open descriptors and buffered bytes) are in
 * flight at once, which is what the setting limits from an operator's point of view.
 */

/** Shared by every uncontended `enter`, so the fast path allocates nothing. */
const RESOLVED: Promise<void> = Promise.resolve();

/** Waiters dropped from the front of the queue before it is compacted. */
const COMPACT_AT = 1024;

/**
 * At most `limit` holders at once, admitted in arrival order. Callers must pair every
 * resolved `enter()` with exactly one `leave()` (in a `finally`), and never `enter` twice
 * without leaving in between, or a full gate would wait on itself.
 */
export class Gate {
  private free: number;
  /** FIFO of waiting resolvers, consumed from `head` to avoid `shift()` copying. */
  private waiters: Array<(() => void) | undefined> = [];
  private head = 0;

  /** `limit` must be a positive integer. */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`gate limit must be a positive integer, got ${limit}`);
    }
    this.free = limit;
  }

  /** Resolves once the caller holds a slot. */
  enter(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return RESOLVED;
    }
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
    });
  }

  /** Gives the slot back, handing it straight to the oldest waiter so none can barge in. */
  leave(): void {
    const next = this.waiters[this.head];
    if (next === undefined) {
      this.free++;
      return;
    }
    this.waiters[this.head] = undefined;
    this.head++;
    if (this.head === this.waiters.length) {
      this.waiters.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    next();
  }
}
