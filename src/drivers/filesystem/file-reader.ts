/**
 * The filesystem driver's read stream: `[start, end)` of an open descriptor, read with
 * positioned `fs.read` calls into buffers that a consumer may give back (`recycle`) once
 * nothing refers to their bytes any more, so that a busy server reuses a few megabytes
 * instead of allocating a fresh buffer per read.
 *
 * Why not `fs.createReadStream`: every read of it is a new buffer, alive until the garbage
 * collector runs. Serving 1 MiB blobs to 16 clients, the main thread spent about 15 % of
 * its time collecting them (`--cpu-prof`), and peak memory grew with read size × streams.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { RecyclingReadable } from '../driver.js';

/**
 * Free buffers kept per size, at most `POOL_BYTES` in all: about what the streams of a busy
 * server have out at once (see `readChunkFor` in index.ts); more are left to the collector.
 */
const POOL_BYTES = 8 << 20;

const free = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;
/** Buffers this module made, so that `recycle` takes no foreign memory. */
const owned = new WeakSet<ArrayBuffer>();
/** Buffers in a free list now, so that a second `recycle` of one chunk is ignored. */
const isFree = new WeakSet<ArrayBuffer>();

function take(size: number): Buffer {
  const memory = free.get(size)?.pop();
  if (memory === undefined) {
    const fresh = Buffer.allocUnsafeSlow(size);
    owned.add(fresh.buffer);
    return fresh;
  }
  isFree.delete(memory);
  freeBytes -= size;
  return Buffer.from(memory);
}

function giveBack(memory: ArrayBuffer): void {
  if (!owned.has(memory) || isFree.has(memory)) return;
  if (freeBytes + memory.byteLength > POOL_BYTES) return;
  let list = free.get(memory.byteLength);
  if (list === undefined) {
    list = [];
    free.set(memory.byteLength, list);
  }
  list.push(memory);
  isFree.add(memory);
  freeBytes += memory.byteLength;
}

/** Free bytes held for reuse now: for tests. */
export function pooledBytes(): number {
  return freeBytes;
}

/**
 * A readable stream whose chunks may be handed back with `recycle(chunk)` by a consumer that
 * is done with their bytes (the reply pump, once uWS has copied or sent them). A consumer
 * that does not recycle loses nothing: its chunks are collected as usual.
 */
export class FileReader extends Readable implements RecyclingReadable {
  readonly #fd: number;
  #position: number;
  readonly #end: number;
  readonly #chunk: number;
  /** A read is in the thread pool: the descriptor may not be closed before it returns. */
  #reading = false;
  #closeWhenRead: (() => void) | null = null;

  /** Reads `[start, end)` of `fd` in reads of `chunk` bytes; the stream owns `fd`. */
  constructor(fd: number, start: number, end: number, chunk: number) {
    super({ highWaterMark: chunk });
    this.#fd = fd;
    this.#position = start;
    this.#end = end;
    this.#chunk = chunk;
  }

  /**
   * Gives a chunk's memory back for a later read. Only a chunk this stream (or another
   * `FileReader`) emitted is taken, once; the caller must hold no other reference to it.
   */
  recycle(chunk: Buffer): void {
    giveBack(chunk.buffer as ArrayBuffer);
  }

  override _read(): void {
    const want = Math.min(this.#chunk, this.#end - this.#position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buffer = take(this.#chunk);
    this.#reading = true;
    fs.read(this.#fd, buffer, 0, want, this.#position, (err, bytesRead) => {
      this.#reading = false;
      if (this.#closeWhenRead !== null) {
        giveBack(buffer.buffer as ArrayBuffer);
        this.#closeWhenRead();
        return;
      }
      if (err !== null) {
        giveBack(buffer.buffer as ArrayBuffer);
        this.destroy(err);
        return;
      }
      if (bytesRead === 0) {
        // The file is shorter than the range: end early; the consumer counts the bytes.
        giveBack(buffer.buffer as ArrayBuffer);
        this.push(null);
        return;
      }
      this.#position += bytesRead;
      this.push(buffer.subarray(0, bytesRead));
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const close = (): void => fs.close(this.#fd, (closeErr) => callback(err ?? closeErr));
    // Closing under a read in flight could let the number be reused by another open file
    // before the read runs.
    if (this.#reading) this.#closeWhenRead = close;
    else close();
  }
}
