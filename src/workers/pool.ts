/**
 * The worker pool as the main thread sees it: N shards, each a one-thread Piscina pool, and
 * a router that sends every task of one upload to the same shard (xxhash of the upload id),
 * because the live hash state of an upload lives in one worker. One thread per shard is the
 * simplest way to get affinity out of Piscina, which has none of its own.
 *
 * Blob bytes travel in pooled 1 MiB ArrayBuffers that are transferred to the worker and
 * transferred back with the acknowledgement, so a busy upload reuses the same few buffers.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import xxhash from 'xxhash-wasm';
import { RegistryError } from '../errors/registry-error.js';
import type { Task, TaskFailure } from './messages.js';
import type { WorkerConfig } from './tasks.js';

/** Bytes per batch sent to a worker: big enough to amortise the message, small to bound memory. */
export const batchBytes = 1 << 20;

/** Free buffers kept for reuse; more than this are left to the garbage collector. */
const maxPooledBuffers = 32;

/**
 * Batches out to the workers at once across all uploads (1 MiB each). Each upload request
 * may always have one out, so none waits forever; beyond the budget the others pause their
 * sockets until batches come back. Memory then grows by one filling batch per concurrent
 * upload, not by four.
 */
export const batchBudget = 32;

export class WorkerPool {
  readonly #shards: Piscina[];
  readonly #hash: (input: string) => number;
  readonly #free: ArrayBuffer[] = [];
  /** Batches out to workers now, across all uploads. */
  #out = 0;
  /** Uploads paused for the budget, woken when batches come back. */
  readonly #waiting = new Set<() => void>();

  private constructor(shards: Piscina[], hash: (input: string) => number) {
    this.#shards = shards;
    this.#hash = hash;
  }

  /**
   * Starts `shards` worker threads (default: one per core), each building the storage driver
   * described by `config`.
   */
  static async create(config: WorkerConfig, shards = availableParallelism()): Promise<WorkerPool> {
    const hasher = await xxhash();
    const h32 = (input: string): number => hasher.h32(input);
    const filename = new URL('./tasks.js', import.meta.url).href;
    const pools = Array.from(
      { length: Math.max(1, shards) },
      () =>
        new Piscina({
          filename,
          minThreads: 1,
          maxThreads: 1,
          // Many uploads share a shard; their I/O overlaps, their bytes never mix.
          concurrentTasksPerWorker: 64,
          idleTimeout: 2 ** 31 - 1,
          workerData: config,
        }),
    );
    return new WorkerPool(pools, h32);
  }

  /** The shard that owns an upload. */
  shardOf(uploadId: string): number {
    return this.#hash(uploadId) % this.#shards.length;
  }

  /** A shard for work with no affinity (manifests): spread by a counter. */
  anyShard(): number {
    this.#next = (this.#next + 1) % this.#shards.length;
    return this.#next;
  }

  #next = 0;

  /**
   * Runs a task on a shard. Resolves with the task's result; a failure result is thrown as
   * the matching RegistryError, and a dead worker as `UNKNOWN`.
   */
  async run<T>(shard: number, task: Task, transfer?: ArrayBuffer): Promise<T | TaskFailure> {
    const pool = this.#shards[shard];
    if (pool === undefined) throw new Error(`no shard ${shard}`);
    const options = transfer === undefined ? undefined : { transferList: [transfer] };
    return (await pool.run(task, options)) as T | TaskFailure;
  }

  /** Whether the batches out to the workers have used up `batchBudget`. */
  get overBudget(): boolean {
    return this.#out >= batchBudget;
  }

  /** Counts a batch sent to a worker. */
  batchOut(): void {
    this.#out++;
  }

  /** Counts a batch back from a worker, and wakes the uploads waiting for the budget. */
  batchBack(): void {
    this.#out--;
    if (this.#out >= batchBudget || this.#waiting.size === 0) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Calls `wake` once, the next time a batch comes back under the budget. */
  waitForBudget(wake: () => void): void {
    this.#waiting.add(wake);
  }

  /** Forgets a waiting upload (its request ended). */
  stopWaiting(wake: () => void): void {
    this.#waiting.delete(wake);
  }

  /** A batch buffer: a reused one when there is one. */
  takeBuffer(): ArrayBuffer {
    return this.#free.pop() ?? new ArrayBuffer(batchBytes);
  }

  /** Gives a batch buffer back for reuse. */
  giveBack(buffer: ArrayBuffer | undefined): void {
    if (buffer === undefined || buffer.byteLength !== batchBytes) return;
    if (this.#free.length < maxPooledBuffers) this.#free.push(buffer);
  }

  /** Stops every worker, after the tasks under way finish. */
  async close(): Promise<void> {
    await Promise.all(this.#shards.map((pool) => pool.close()));
  }
}

/** Turns a task failure into the error thrown to the client. */
export function failureToError(failure: TaskFailure): RegistryError {
  if (failure.code !== 'UNKNOWN') return new RegistryError(failure.code, failure.detail);
  // A worker fault: its text is for the log only (it may name storage paths).
  const err = new RegistryError('UNKNOWN');
  err.cause = new Error(String(failure.detail));
  return err;
}
