/**
 * The s3 driver's `FileWriter`: a multipart upload that outlives the writer, so that a later
 * writer (another request, worker, process or replica) continues where this one stopped.
 *
 * What S3 holds for a key being written is an object (the bytes so far, or none) and at most
 * one multipart upload in progress that continues it. Writes fill a buffer of `chunksize`
 * bytes; each full buffer becomes a part, uploaded while the next one fills (one part in
 * flight at a time, so an upload holds at most two buffers). `close` uploads the tail as a
 * last, possibly small, part and leaves the upload in progress: nothing written is lost.
 *
 * Opening with `append` first makes the stored bytes one readable object again: the newest
 * upload in progress that continues the object is completed (S3 accepts a small last part),
 * other uploads at the key are aborted. The registry re-reads those bytes to rebuild its
 * hash, and S3 cannot read the parts of an unfinished upload. The first part this writer
 * then sends needs the object as its start: below S3's 5 MiB part minimum the object is read
 * into the buffer at open and goes out with the next part; from 5 MiB it is copied
 * server-side (`UploadPartCopy`) into the first parts of a new upload. Either way the upload
 * holds the whole object before any new byte, and a crash in between leaves an upload whose
 * parts do not reach the object's size, which the next open recognises and aborts.
 *
 * A writer that was forgotten elsewhere (an idle writer closed after another replica took
 * the upload over) must not start a competing upload: before creating one, the writer checks
 * that the object still has the ETag it opened, and that no upload appeared at the key.
 *
 * Known gap: until `close` or `commit`, what a writer took is not readable: `getContent` and
 * `reader` see the object as it was when the writer opened, and only the driver instance
 * that holds the writer counts the new bytes in `stat`. S3 cannot read the parts of an
 * unfinished upload, and up to two `chunksize` buffers are in this process's memory only.
 */
import { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { FileWriter } from '../driver.js';
import { StorageDriverError } from '../driver.js';
import { driverError, isNoSuchUpload, NAME } from './client.js';
import {
  abortUpload,
  completeUpload,
  copyIntoParts,
  createUpload,
  listParts,
  listUploads,
  type Bucket,
  type Upload,
  type UploadedPart,
} from './multipart.js';
import { deleteObject, getObjectBytes, headObject } from './objects.js';
import { MAX_PARTS, MIN_PART_SIZE } from './params.js';

/** Where a writer writes and with which sizes. */
export interface WriterTarget {
  bucket: Bucket;
  /** The driver path (for errors) and its key. */
  path: string;
  key: string;
  chunkSize: number;
  copyChunkSize: number;
  copyConcurrency: number;
  /** Called once when the writer stops being open (closed, committed or cancelled). */
  onDone: (writer: S3FileWriter) => void;
}

/** The object a writer continues: its size and ETag (null when there is none). */
interface BaseObject {
  size: number;
  etag: string | null;
}

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled';

/** The uploads in progress at exactly `key`, newest first. */
async function uploadsAt(bucket: Bucket, key: string): Promise<Upload[]> {
  const found: Upload[] = [];
  for await (const upload of listUploads(bucket, key, (k) => k === key)) found.push(upload);
  return found.sort((a, b) => b.initiated - a.initiated);
}

/** Parts numbered 1..n without a gap that hold at least the object's bytes. */
function continues(parts: readonly UploadedPart[], objectSize: number): boolean {
  if (parts.length === 0 || !parts.every((p, i) => p.PartNumber === i + 1)) return false;
  return parts.reduce((sum, p) => sum + p.Size, 0) >= objectSize;
}

/**
 * Opens a writer on `target.key`. With `append`, it continues what is stored (see the
 * module comment); without, it aborts the uploads at the key and deletes the object first.
 */
export async function openWriter(target: WriterTarget, append: boolean): Promise<S3FileWriter> {
  const { bucket, key } = target;
  const [uploads, head] = await Promise.all([uploadsAt(bucket, key), headObject(bucket, key)]);
  let base: BaseObject = { size: head?.size ?? 0, etag: head?.etag ?? null };
  let adopted = !append;
  for (const upload of uploads) {
    if (!adopted) {
      const parts = await listParts(bucket, upload);
      if (continues(parts, base.size)) {
        await completeUpload(bucket, key, upload.uploadId, parts);
        // Some services (Ceph RGW) answer the completion without the new object's ETag.
        const done = await headObject(bucket, key);
        const size = parts.reduce((sum, p) => sum + p.Size, 0);
        if (done?.size !== size) throw new Error(`${key} is not ${size} bytes once completed`);
        base = { size, etag: done.etag };
        adopted = true;
        continue;
      }
    }
    await abortUpload(bucket, key, upload.uploadId);
  }
  if (!append) {
    if (head !== null) await deleteObject(bucket, key);
    base = { size: 0, etag: null };
  }
  let held: Buffer | null = null;
  if (base.size > 0 && base.size < MIN_PART_SIZE) {
    held = await getObjectBytes(bucket, key, base.etag);
    if (held.length !== base.size) throw new Error(`${key} changed while it was opened`);
  }
  return new S3FileWriter(target, base, held);
}

/**
 * Appends to one key through a multipart upload (see the module comment). The caller
 * serialises calls, as with every `FileWriter`; an overlapping call is refused. `close`
 * after `close` or `commit` is a no-op; `cancel` always removes the key. After a failed
 * S3 request the writer refuses `write` and `commit`; the bytes stored before stay.
 */
export class S3FileWriter implements FileWriter {
  #state: WriterState = 'open';
  #busy = false;
  #failure: StorageDriverError | null = null;
  #size: number;
  #lastWrite = Date.now();
  readonly #target: WriterTarget;
  readonly #base: BaseObject;
  #uploadId: string | null = null;
  readonly #parts: UploadedPart[] = [];
  #nextPart = 1;
  /** Bytes waiting for the next part; the first `#held` of them are the base object's. */
  #buffer: Buffer | null = null;
  #filled = 0;
  #held = 0;
  /** The buffer of the part in flight, reused once that part is stored. */
  #spare: Buffer | null = null;
  #inflight: Promise<void> | null = null;

  /** `held` is the whole base object when it is smaller than a part. */
  constructor(target: WriterTarget, base: BaseObject, held: Buffer | null) {
    this.#target = target;
    this.#base = base;
    this.#size = base.size;
    if (held !== null) {
      this.#buffer = Buffer.allocUnsafe(target.chunkSize);
      held.copy(this.#buffer);
      this.#filled = this.#held = held.length;
    }
  }

  /** Bytes in the file so far, including those stored before this writer opened it. */
  get size(): number {
    return this.#size;
  }

  /** When a byte was last written (or the writer opened), for `stat`. */
  get modTime(): Date {
    return new Date(this.#lastWrite);
  }

  /** Copies `chunk` into the buffer; a full buffer goes out as a part while the next fills. */
  async write(chunk: Uint8Array): Promise<void> {
    this.#begin('write');
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const buffer = this.#takeBuffer();
        const n = Math.min(chunk.byteLength - offset, buffer.length - this.#filled);
        const piece = n === chunk.byteLength ? chunk : chunk.subarray(offset, offset + n);
        buffer.set(piece, this.#filled);
        this.#filled += n;
        this.#size += n;
        offset += n;
        if (this.#filled === buffer.length) await this.#sendBuffer();
      }
      this.#lastWrite = Date.now();
    } catch (err) {
      throw this.#fail(err, 'write');
    } finally {
      this.#busy = false;
    }
  }

  /** Stores the buffered tail as the last part and completes the upload (or one PutObject). */
  async commit(): Promise<void> {
    this.#begin('commit');
    this.#state = 'committed';
    try {
      await this.#settle();
      const fresh = this.#filled - this.#held;
      if (this.#uploadId === null && this.#held === 0 && this.#base.size > 0) {
        // The base object is too large to resend: continue it with a copy.
        if (fresh === 0) return;
        await this.#startUpload();
      }
      if (this.#uploadId === null) {
        // Everything, base included, is in the buffer: one atomic PutObject.
        if (fresh === 0 && this.#base.etag !== null) return;
        const { bucket, key } = this.#target;
        await bucket.client.send(
          new PutObjectCommand({
            Bucket: bucket.name,
            Key: key,
            Body: this.#pending(),
            ContentLength: this.#filled,
            ...bucket.headers,
          }),
        );
        return;
      }
      if (this.#filled > 0) await this.#sendPart(this.#pending());
      const { bucket, key } = this.#target;
      await completeUpload(bucket, key, this.#uploadId, this.#parts);
    } catch (err) {
      throw this.#fail(err, 'commit');
    } finally {
      this.#finish();
    }
  }

  /**
   * Stores the buffered tail as a (possibly small) part and leaves the upload in progress.
   * A writer that failed before only lets go of its buffers: its failure was reported then.
   */
  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    if (this.#failure !== null && !this.#busy) {
      this.#state = 'closed';
      this.#finish();
      return;
    }
    this.#begin('close');
    this.#state = 'closed';
    try {
      await this.#settle();
      if (this.#filled > this.#held) {
        await this.#startUpload();
        await this.#sendPart(this.#pending());
      }
    } catch (err) {
      throw this.#fail(err, 'close');
    } finally {
      this.#finish();
    }
  }

  /** Aborts every upload at the key and deletes the object, whatever state the writer is in. */
  async cancel(): Promise<void> {
    if (this.#state === 'cancelled') return;
    if (this.#busy) throw new Error(`cancel during another operation on ${this.#target.path}`);
    const wasOpen = this.#state === 'open';
    this.#state = 'cancelled';
    this.#busy = true;
    const { bucket, key } = this.#target;
    try {
      await this.#inflight?.catch(() => undefined);
      if (this.#uploadId !== null) await abortUpload(bucket, key, this.#uploadId);
      for (const upload of await uploadsAt(bucket, key)) {
        await abortUpload(bucket, key, upload.uploadId);
      }
      await deleteObject(bucket, key);
    } catch (err) {
      throw driverError(err, 'cancel', this.#target.path);
    } finally {
      if (wasOpen) this.#finish();
      this.#busy = false;
    }
  }

  /** Refuses `op` unless the writer is open, idle and not failed, then marks it busy. */
  #begin(op: string): void {
    const path = this.#target.path;
    if (this.#state !== 'open') throw new Error(`${op} on a ${this.#state} writer: ${path}`);
    if (this.#busy) throw new Error(`${op} during another operation on ${path}`);
    if (this.#failure !== null) throw this.#failure;
    this.#busy = true;
  }

  /** Remembers the first failure (later calls rethrow it) and returns it as a driver error. */
  #fail(err: unknown, op: string): StorageDriverError {
    const failure = isNoSuchUpload(err)
      ? new StorageDriverError(
          `s3 ${op} ${this.#target.path} failed: another writer completed or aborted the upload`,
          NAME,
          { cause: err },
        )
      : driverError(err, op, this.#target.path);
    this.#failure ??= failure;
    return failure;
  }

  /** Releases the buffers and tells the driver this writer is done. */
  #finish(): void {
    this.#buffer = this.#spare = null;
    this.#filled = this.#held = 0;
    this.#busy = false;
    this.#target.onDone(this);
  }

  /** The buffer to fill: the current one, the spare, or a new one. */
  #takeBuffer(): Buffer {
    if (this.#buffer === null) {
      this.#buffer = this.#spare ?? Buffer.allocUnsafe(this.#target.chunkSize);
      this.#spare = null;
    }
    return this.#buffer;
  }

  /** The buffered bytes not yet in a part. */
  #pending(): Buffer {
    return (this.#buffer ?? Buffer.alloc(0)).subarray(0, this.#filled);
  }

  /** Waits for the part in flight; its failure is the writer's. */
  async #settle(): Promise<void> {
    const inflight = this.#inflight;
    this.#inflight = null;
    await inflight;
  }

  /** Sends the full buffer as a part in the background, after the previous one is stored. */
  async #sendBuffer(): Promise<void> {
    await this.#settle();
    await this.#startUpload();
    const sending = this.#pending();
    const full = this.#buffer;
    this.#buffer = null;
    this.#filled = this.#held = 0;
    const inflight = this.#sendPart(sending).then(() => {
      this.#spare = full;
    });
    // Observed by the next #settle; until then a rejection must not count as unhandled.
    void inflight.catch(() => undefined);
    this.#inflight = inflight;
  }

  /** Uploads `body` as the next part and records it. */
  async #sendPart(body: Buffer): Promise<void> {
    const uploadId = this.#uploadId;
    if (uploadId === null) throw new Error('no upload to send a part to');
    const PartNumber = this.#nextPart++;
    if (PartNumber > MAX_PARTS) {
      throw new Error(`more than ${MAX_PARTS} parts: raise chunksize for blobs this large`);
    }
    const { bucket, key } = this.#target;
    const out = await bucket.client.send(
      new UploadPartCommand({
        Bucket: bucket.name,
        Key: key,
        UploadId: uploadId,
        PartNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
    if (out.ETag === undefined) throw new Error(`no ETag for part ${PartNumber}`);
    this.#parts.push({ PartNumber, ETag: out.ETag, Size: body.length });
  }

  /**
   * Creates this writer's upload, once, after checking that nobody changed the key since it
   * opened; a base object not held in the buffer is copied into its first parts.
   */
  async #startUpload(): Promise<void> {
    if (this.#uploadId !== null) return;
    const { bucket, key, path } = this.#target;
    const [head, uploads] = await Promise.all([headObject(bucket, key), uploadsAt(bucket, key)]);
    if ((head?.etag ?? null) !== this.#base.etag || uploads.length > 0) {
      throw new StorageDriverError(
        `s3 write ${path} refused: another writer changed it since this one opened`,
        NAME,
      );
    }
    const uploadId = await createUpload(bucket, key);
    this.#uploadId = uploadId;
    if (this.#base.size === 0 || this.#held > 0) return;
    const base = { key, size: this.#base.size, etag: this.#base.etag ?? undefined };
    const dest = { key, uploadId, firstPart: 1 };
    const { copyChunkSize, copyConcurrency } = this.#target;
    const copied = await copyIntoParts(bucket, base, dest, copyChunkSize, copyConcurrency);
    this.#parts.push(...copied);
    this.#nextPart = copied.length + 1;
  }
}
