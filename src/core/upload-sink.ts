/**
 * Carries the body of one upload request from the HTTP layer to the upload's worker with
 * bounded memory: bytes are copied once into pooled 1 MiB batches, and at most
 * `maxInFlight` batches per request wait for the worker, and no more than the pool's
 * `batchBudget` across all requests (each request may always have one). When a request has
 * its share out, `write` returns false and the caller pauses the socket until `onDrain`.
 *
 * For drivers the worker cannot write to (inmemory), the worker only hashes and hands the
 * batch back; the sink then writes it here, one batch at a time so the order is kept.
 */
import type { FileWriter, StorageDriver } from '../drivers/driver.js';
import { RegistryError } from '../errors/registry-error.js';
import type { DigestAlgorithm } from '../oci/digest.js';
import type { AppendResult, DoneResult, FinishResult, TaskFailure } from '../workers/messages.js';
import { batchBytes, failureToError, type WorkerPool } from '../workers/pool.js';

/** Batches of one request waiting for the worker before the socket is paused. */
const maxInFlight = 4;

/** Where an upload's bytes go and how they are hashed. */
export interface UploadTarget {
  uploadId: string;
  dataPath: string;
  algorithm: DigestAlgorithm;
}

export class UploadSink {
  readonly #pool: WorkerPool;
  readonly #shard: number;
  readonly #target: UploadTarget;
  /** Set for drivers not shared with workers: the main thread writes through it. */
  readonly #localWriter: FileWriter | null;
  readonly #driver: StorageDriver;
  #buffer: ArrayBuffer | null = null;
  #view: Uint8Array | null = null;
  #fill = 0;
  #inFlight = 0;
  #pending: Promise<void> = Promise.resolve();
  /** The offset the next batch must start at, or -1 once checked. */
  #expectedOffset: number;
  #offset = -1;
  #error: RegistryError | null = null;
  /** Called when the caller may resume writing. */
  onDrain: (() => void) | null = null;

  constructor(
    pool: WorkerPool,
    driver: StorageDriver,
    target: UploadTarget,
    expectedOffset: number,
    localWriter: FileWriter | null,
  ) {
    this.#pool = pool;
    this.#driver = driver;
    this.#shard = pool.shardOf(target.uploadId);
    this.#target = target;
    this.#expectedOffset = expectedOffset;
    this.#localWriter = localWriter;
  }

  /** The first error the upload met, if any; later bytes are dropped. */
  get error(): RegistryError | null {
    return this.#error;
  }

  /**
   * Takes bytes that are only valid during this call (a uWS chunk): copies them out.
   * Returns false when the caller should pause until `onDrain`.
   */
  write(chunk: Uint8Array): boolean {
    if (this.#error !== null) return true;
    let done = 0;
    while (done < chunk.byteLength) {
      if (this.#view === null) {
        this.#buffer = this.#pool.takeBuffer();
        this.#view = new Uint8Array(this.#buffer);
        this.#fill = 0;
      }
      const n = Math.min(chunk.byteLength - done, batchBytes - this.#fill);
      // Most chunks fit whole: copy them without making a view of a view first.
      this.#view.set(n === chunk.byteLength ? chunk : chunk.subarray(done, done + n), this.#fill);
      this.#fill += n;
      done += n;
      if (this.#fill === batchBytes) this.#dispatch();
    }
    return this.#mayWrite();
  }

  /**
   * Whether the caller may write more now. When the shared budget is what stops it, the
   * sink asks the pool to wake it (`onDrain`) once batches come back.
   */
  #mayWrite(): boolean {
    if (this.#inFlight >= this.#limit()) return false;
    if (this.#inFlight === 0 || !this.#pool.overBudget) return true;
    this.#pool.waitForBudget(this.#wake);
    return false;
  }

  readonly #wake = (): void => {
    if (this.#mayWrite()) this.onDrain?.();
  };

  /** Sends what is left and waits for every batch. Resolves with the upload's new end. */
  async end(): Promise<number> {
    if (this.#fill > 0 && this.#error === null) this.#dispatch();
    else if (this.#buffer !== null) this.#pool.giveBack(this.#buffer);
    this.#buffer = null;
    this.#view = null;
    await this.#pending;
    this.#pool.stopWaiting(this.#wake);
    await this.#localWriter?.close();
    if (this.#localWriter === null) {
      // Every byte this request acknowledges must be in storage, readable by any replica,
      // and no descriptor may outlive the request, refused or not: the upload may go on
      // elsewhere (a file kept open here would also take appends after another process
      // completed it).
      const task = { kind: 'release' as const, uploadId: this.#target.uploadId };
      const result = await this.#pool.run<DoneResult>(this.#shard, task);
      if (this.#error === null && !result.ok) throw failureToError(result);
    }
    if (this.#error !== null) throw this.#error;
    return this.#offset;
  }

  #limit(): number {
    // Without a shared driver each batch is written here after the worker hashed it: one at
    // a time keeps both in order, and re-seeding a worker simple.
    return this.#localWriter === null ? maxInFlight : 1;
  }

  #dispatch(): void {
    const buffer = this.#buffer as ArrayBuffer;
    const length = this.#fill;
    this.#buffer = null;
    this.#view = null;
    this.#fill = 0;
    this.#inFlight++;
    this.#pool.batchOut();
    const local = this.#localWriter;
    if (local !== null) {
      // Strictly one after another: each batch is written here in order, at the true end.
      this.#pending = this.#pending.then(() => this.#send(buffer, length, local.size));
    } else {
      const sent = this.#send(buffer, length, this.#takeExpectedOffset(length));
      this.#pending = this.#pending.then(() => sent);
    }
  }

  /**
   * Where the next batch must land. With a Content-Range every batch carries its own
   * offset, so that once one is refused (wrong offset) none after it can be appended
   * elsewhere; without one, batches append at the end (the request holds the upload's lock).
   */
  #takeExpectedOffset(length: number): number {
    const expected = this.#expectedOffset;
    if (expected >= 0) this.#expectedOffset += length;
    return expected;
  }

  async #send(buffer: ArrayBuffer, length: number, expectedOffset: number): Promise<void> {
    try {
      let result = await this.#append(buffer, length, expectedOffset);
      if (!result.ok && result.needsSeed === true) {
        await this.#seed();
        result = await this.#append(result.buffer ?? buffer, length, expectedOffset);
      }
      if (!result.ok) {
        this.#pool.giveBack(result.buffer);
        throw this.#offsetError(result);
      }
      if (this.#localWriter !== null) {
        await this.#localWriter.write(new Uint8Array(result.buffer, 0, length));
      }
      this.#offset = result.offset;
      this.#pool.giveBack(result.buffer);
    } catch (err) {
      this.#error ??= err instanceof RegistryError ? err : wrap(err);
    } finally {
      this.#inFlight--;
      this.#pool.batchBack();
      if (this.#mayWrite()) this.onDrain?.();
    }
  }

  #append(buffer: ArrayBuffer, length: number, expectedOffset: number) {
    const task = { kind: 'append' as const, ...this.#target, expectedOffset, buffer, length };
    return this.#pool.run<AppendResult>(this.#shard, task, buffer);
  }

  /** Hands the worker the bytes stored so far (drivers the worker cannot read). */
  async #seed(): Promise<void> {
    await seedWorker(this.#pool, this.#driver, this.#target, this.#shard);
  }

  #offsetError(failure: TaskFailure): RegistryError {
    if (failure.code !== 'RANGE_INVALID' || failure.offset === undefined) {
      return failureToError(failure);
    }
    const err = new RegistryError('RANGE_INVALID', failure.detail);
    // A 416 tells the client where the upload really ends (OCI spec, "Pushing a blob in chunks").
    return err.withHeader('Range', `0-${Math.max(0, failure.offset - 1)}`);
  }
}

function wrap(err: unknown): RegistryError {
  const wrapped = new RegistryError('UNKNOWN');
  wrapped.cause = err;
  return wrapped;
}

async function seedWorker(
  pool: WorkerPool,
  driver: StorageDriver,
  target: UploadTarget,
  shard: number,
): Promise<void> {
  const bytes = await driver.getContent(target.dataPath);
  const buffer = new Uint8Array(bytes).buffer;
  const task = {
    kind: 'seed' as const,
    uploadId: target.uploadId,
    algorithm: target.algorithm,
    buffer,
    length: bytes.byteLength,
  };
  const result = await pool.run<DoneResult>(shard, task, buffer);
  if (!result.ok) throw failureToError(result);
}

/**
 * Completes an upload's digest in `target.algorithm` and makes its bytes durable. With a
 * driver not shared with workers, `storedSize` is what the main thread holds.
 */
export async function finishUpload(
  pool: WorkerPool,
  driver: StorageDriver,
  target: UploadTarget,
  storedSize: number,
): Promise<{ digest: string; size: number }> {
  const shard = pool.shardOf(target.uploadId);
  const task = { kind: 'finish' as const, ...target, storedSize };
  let result = await pool.run<FinishResult>(shard, task);
  if (!result.ok && result.needsSeed === true) {
    await seedWorker(pool, driver, target, shard);
    result = await pool.run<FinishResult>(shard, task);
  }
  if (!result.ok) throw failureToError(result);
  return { digest: result.digest, size: result.size };
}

/** Drops an upload's live state in its worker (after cancel or a failed commit). */
export async function forgetUpload(pool: WorkerPool, uploadId: string): Promise<void> {
  await pool.run<DoneResult>(pool.shardOf(uploadId), { kind: 'forget', uploadId });
}
