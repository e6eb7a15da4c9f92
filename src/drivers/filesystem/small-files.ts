/**
 * Small files (links, mostly: 71 bytes each) kept between reads, each served only after a
 * `stat` shows the file is still the one that was read.
 *
 * A link read is open, read and close: three trips through libuv's thread pool, whose
 * submission cost (a lock and a wake-up per call, contended at 64 requests in flight)
 * showed as 40 % of the main thread's time on manifest GETs by tag. A kept file costs one
 * trip, a `stat`.
 *
 * Every change to a file moves its `ctime` (writes, truncation, `utimes`) or puts another
 * file in its place (a rename over it: a new inode). The trap is a change within the same
 * clock tick as the `ctime` that was kept; so a file is kept only when its `ctime` was
 * already `SETTLED_MS` old when it was read (git's "racily clean" rule): any later change
 * stamps a later time. Only used on local file systems, whose `stat` asks the kernel's own
 * inode, not a client cache (see `onLocalFileSystem`).
 */
import type { Stats } from 'node:fs';

/** How old a file's `ctime` must be before what is read from it is kept. */
export const SETTLED_MS = 2_000;

/** Files larger than this are not kept: links and small JSON only. */
export const SMALL_FILE_BYTES = 512;

/** Files kept at most; the least recently used go first. */
const LIMIT_FILES = 16_384;

interface Entry {
  ino: number;
  size: number;
  ctimeMs: number;
  bytes: Buffer;
}

export class SmallFileCache {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly limitFiles = LIMIT_FILES) {}

  /** Whether `file` has kept bytes to check. */
  has(file: string): boolean {
    return this.#entries.has(file);
  }

  /** The kept bytes of `file` if `info` (a fresh `stat`) shows the same file unchanged. */
  get(file: string, info: Stats): Buffer | undefined {
    const entry = this.#entries.get(file);
    if (entry === undefined) return undefined;
    if (entry.ino !== info.ino || entry.size !== info.size || entry.ctimeMs !== info.ctimeMs) {
      this.#entries.delete(file);
      return undefined;
    }
    this.#entries.delete(file);
    this.#entries.set(file, entry);
    return entry.bytes;
  }

  /**
   * Keeps `bytes`, read from `file` after an `fstat` that gave `info`, begun at `readAt`
   * (ms), when the file had settled by then and is small.
   */
  set(file: string, info: Stats, readAt: number, bytes: Buffer): void {
    if (bytes.length > SMALL_FILE_BYTES || bytes.length !== info.size) return;
    if (readAt - info.ctimeMs < SETTLED_MS) return;
    this.#entries.delete(file);
    if (this.#entries.size >= this.limitFiles) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(file, { ino: info.ino, size: info.size, ctimeMs: info.ctimeMs, bytes });
  }

  /** Drops what is kept of `file`. */
  forget(file: string): void {
    this.#entries.delete(file);
  }
}
