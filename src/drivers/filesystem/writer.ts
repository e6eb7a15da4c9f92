/**
 * The filesystem driver's `FileWriter`: an open descriptor that appends the chunks of one
 * upload, kept open across the requests of that upload.
 */
import type { FileHandle } from 'node:fs/promises';
import { stat, unlink } from 'node:fs/promises';
import { PathNotFoundError, type FileWriter } from '../driver.js';
import { errnoCode } from './errno.js';
import type { Gate } from './gate.js';

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled';

/**
 * Appends to one file through `handle`, which was opened in `a` or `w` mode so that a write
 * without a position goes to the end. Each operation takes a slot of the driver's gate.
 *
 * The caller serialises calls (one upload request at a time); an overlapping `write`,
 * `commit`, `close` or `cancel` is refused with an Error rather than interleaving bytes.
 * `close` after `commit` or `close` is a no-op so that callers can close in a `finally`;
 * `cancel` always removes the file, even after `close` or `commit`.
 */
export class FsFileWriter implements FileWriter {
  private state: WriterState = 'open';
  private busy = false;
  private written: number;

  /**
   * `osPath` is the OS path `handle` was opened on (removed by `cancel`); `size` is the
   * file's length when it was opened (0 when truncated).
   */
  constructor(
    private readonly handle: FileHandle,
    private readonly osPath: string,
    size: number,
    private readonly gate: Gate,
  ) {
    this.written = size;
  }

  /** Bytes in the file so far, including those there before this writer opened it. */
  get size(): number {
    return this.written;
  }

  /**
   * Appends `chunk`, looping until the kernel took all of it (writes may be partial). Then
   * checks that the file is still the one at its path: if another process renamed it away
   * meanwhile (it completed the upload), the bytes just written are cut off again, so that
   * they never become part of that blob, and `PathNotFoundError` is thrown.
   */
  async write(chunk: Uint8Array): Promise<void> {
    this.begin('write');
    await this.gate.enter();
    const before = this.written;
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await this.handle.write(chunk, offset, chunk.byteLength - offset);
        // A regular file never takes 0 bytes without an error; guard against spinning.
        if (bytesWritten <= 0) throw new Error(`write to ${this.osPath} made no progress`);
        offset += bytesWritten;
        // Counted per partial write so that `size` stays true if a later part fails.
        this.written += bytesWritten;
      }
      if (!(await this.stillAtPath())) {
        await this.handle.truncate(before);
        this.written = before;
        throw new PathNotFoundError(this.osPath, 'filesystem');
      }
    } finally {
      this.gate.leave();
      this.busy = false;
    }
  }

  /** Whether the path still names this writer's file. */
  private async stillAtPath(): Promise<boolean> {
    const [mine, there] = await Promise.all([
      this.handle.stat(),
      stat(this.osPath).catch(() => null),
    ]);
    return there !== null && there.ino === mine.ino && there.dev === mine.dev;
  }

  /** Flushes the data to disk (`fdatasync`), then closes. */
  async commit(): Promise<void> {
    this.begin('commit');
    this.state = 'committed';
    await this.gate.enter();
    try {
      try {
        await this.handle.datasync();
      } finally {
        await this.handle.close();
      }
    } finally {
      this.gate.leave();
      this.busy = false;
    }
  }

  /** Closes without syncing; the bytes stay in the file for a later writer. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.begin('close');
    this.state = 'closed';
    await this.gate.enter();
    try {
      await this.handle.close();
    } finally {
      this.gate.leave();
      this.busy = false;
    }
  }

  /** Closes (when still open) and removes the file; a file already gone is not an error. */
  async cancel(): Promise<void> {
    if (this.state === 'cancelled') return;
    if (this.busy) throw new Error(`cancel during another operation on ${this.osPath}`);
    const wasOpen = this.state === 'open';
    this.state = 'cancelled';
    this.busy = true;
    await this.gate.enter();
    try {
      // The path goes even if closing fails: the caller asked for the upload to vanish.
      if (wasOpen) await this.handle.close().catch(() => undefined);
      try {
        await unlink(this.osPath);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    } finally {
      this.gate.leave();
      this.busy = false;
    }
  }

  /** Refuses `op` unless the writer is open and idle, then marks it busy. */
  private begin(op: string): void {
    if (this.state !== 'open') throw new Error(`${op} on a ${this.state} writer: ${this.osPath}`);
    if (this.busy) throw new Error(`${op} during another operation on ${this.osPath}`);
    this.busy = true;
  }
}
