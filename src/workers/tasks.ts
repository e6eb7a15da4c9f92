/**
 * The worker side of the pool: one module instance per worker thread. It keeps the live
 * state of the uploads its shard owns (open writer, running hash, offset), so consecutive
 * PATCH requests of one upload continue the same hash without re-reading anything.
 *
 * Tasks of one upload run strictly in arrival order (a promise chain per upload); tasks of
 * different uploads interleave freely. When a task finds no state for an upload (worker
 * restarted, idle state dropped, upload begun on another replica), the state is rebuilt by
 * re-reading the bytes already stored, as the reference registry does.
 */
import { getPriority, setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { createDriver } from '../drivers/factory.js';
import { isNotFound, type FileWriter, type StorageDriver } from '../drivers/driver.js';
import { blobDataPath } from '../core/paths.js';
import { RegistryError } from '../errors/registry-error.js';
import { parseDigest, type DigestAlgorithm } from '../oci/digest.js';
import { checkManifest } from '../oci/manifest.js';
import { createHasher, digestOf, type Hasher } from './hasher.js';
import type {
  AppendResult,
  AppendTask,
  DoneResult,
  FinishResult,
  FinishTask,
  ManifestResult,
  ManifestTask,
  SeedTask,
  Task,
  TaskFailure,
  TaskResult,
} from './messages.js';
import { WORKER_NICE } from './messages.js';

/** What the main thread passes to every worker: the storage driver to build. */
export interface WorkerConfig {
  driver: string;
  parameters: Record<string, unknown>;
}

const config = workerData as WorkerConfig;

// Bulk work (hashing and writing blob bytes) yields the CPU to the main thread and the
// gateway, which answer the small requests (see WORKER_NICE).
try {
  // Relative to the process's own priority (`getPriority` with no pid reads this thread).
  setPriority(Math.min(19, getPriority() + WORKER_NICE));
} catch {
  // Refused (a sandbox without the call): the worker runs at the process's priority.
}
const driver: StorageDriver = createDriver(config.driver, config.parameters);

interface UploadState {
  hasher: Hasher;
  offset: number;
  /** Null when the driver is not shared across threads: the main thread writes. */
  writer: FileWriter | null;
  lastUsed: number;
}

const uploads = new Map<string, UploadState>();
/** The tail of each upload's task chain, set synchronously so no two tasks overlap. */
const chains = new Map<string, Promise<unknown>>();

function freshState(algorithm: DigestAlgorithm, writer: FileWriter | null): UploadState {
  return { hasher: createHasher(algorithm), offset: 0, writer, lastUsed: Date.now() };
}

function needsSeed(buffer?: ArrayBuffer): TaskFailure {
  return { ok: false, code: 'UNKNOWN', detail: 'no live state', needsSeed: true, buffer };
}

// Idle uploads give back their open files; their bytes stay and are re-read if they resume.
const idleMs = 10 * 60 * 1000;
setInterval(() => {
  const now = Date.now();
  for (const [id, state] of uploads) {
    if (now - state.lastUsed < idleMs) continue;
    uploads.delete(id);
    void state.writer?.close().catch(() => undefined);
  }
}, 60_000).unref();

function failure(err: unknown): TaskFailure {
  if (err instanceof RegistryError) {
    return { ok: false, code: err.code, detail: err.detail };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, code: 'UNKNOWN', detail: message };
}

/** Hashes the bytes stored at `path` into a fresh hasher; a missing file is empty. */
async function rehash(path: string, algorithm: DigestAlgorithm): Promise<Hasher> {
  const hasher = createHasher(algorithm);
  let stream;
  try {
    stream = await driver.reader(path);
  } catch (err) {
    if (isNotFound(err)) return hasher;
    throw err;
  }
  for await (const chunk of stream) hasher.update(chunk as Buffer);
  return hasher;
}

/** The state of an upload, rebuilt from storage when this worker has none. */
async function restore(
  id: string,
  dataPath: string,
  algorithm: DigestAlgorithm,
): Promise<UploadState> {
  const existing = uploads.get(id);
  if (existing !== undefined) return existing;
  const writer = await driver.writer(dataPath, true);
  const hasher = writer.size > 0 ? await rehash(dataPath, algorithm) : createHasher(algorithm);
  const state: UploadState = { hasher, offset: writer.size, writer, lastUsed: Date.now() };
  uploads.set(id, state);
  return state;
}

/**
 * The upload's state with an open writer, reopening one released at the end of an earlier
 * request. If storage no longer ends where this worker's hash does (another process or
 * replica moved the upload on, or wrote to it at the same time), the hash is rebuilt from
 * the stored bytes: with a file system every task checks the stored size first (a `stat`
 * per 1 MiB batch), so bytes this worker did not hash can never complete under its digest;
 * an object store's writer is checked each time it is reopened.
 */
async function withWriter(
  id: string,
  dataPath: string,
  algorithm: DigestAlgorithm,
): Promise<UploadState> {
  const state = uploads.get(id);
  if (state === undefined) return restore(id, dataPath, algorithm);
  if (!driver.sharedAcrossThreads) return state;
  if (state.writer !== null) {
    // An object store's open writer holds bytes `stat` cannot see: it is checked on reopen.
    if (driver.buffersWrites || (await storedSize(dataPath)) === state.offset) return state;
    await state.writer.close();
    state.writer = null;
  }
  const writer = await driver.writer(dataPath, true);
  if (writer.size !== state.offset) {
    const kept = state.hasher.algorithm;
    state.hasher = writer.size > 0 ? await rehash(dataPath, kept) : createHasher(kept);
    state.offset = writer.size;
  }
  state.writer = writer;
  return state;
}

/** The size of the stored upload, 0 when there is no file yet. */
async function storedSize(dataPath: string): Promise<number> {
  try {
    return (await driver.stat(dataPath)).size;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}

/** Closes the writer (keeping the hash) so buffered bytes reach storage; see ReleaseTask. */
async function release(id: string): Promise<DoneResult> {
  const state = uploads.get(id);
  if (state?.writer != null) {
    const writer = state.writer;
    state.writer = null;
    await writer.close();
  }
  return { ok: true };
}

/** Runs `step` after every earlier task of the same upload. */
function serialise<T>(id: string, step: () => Promise<T>): Promise<T> {
  const run = (chains.get(id) ?? Promise.resolve()).then(step, step);
  const tail = run.catch(() => undefined);
  chains.set(id, tail);
  void tail.then(() => {
    if (chains.get(id) === tail) chains.delete(id);
  });
  return run;
}

async function append(task: AppendTask): Promise<TaskResult<AppendResult>> {
  let state = uploads.get(task.uploadId);
  if (state === undefined) {
    if (!driver.sharedAcrossThreads) {
      // The main thread holds the bytes; it tells us where the upload ends.
      if (task.expectedOffset > 0) return needsSeed(task.buffer);
      state = freshState(task.algorithm, null);
      uploads.set(task.uploadId, state);
    } else {
      await restore(task.uploadId, task.dataPath, task.algorithm);
      // Checked again after the rehash, which takes a while: another process may have
      // completed the upload (renamed its bytes away) meanwhile.
      state = await withWriter(task.uploadId, task.dataPath, task.algorithm);
    }
  } else {
    state = await withWriter(task.uploadId, task.dataPath, task.algorithm);
  }
  if (task.expectedOffset >= 0 && task.expectedOffset !== state.offset) {
    return {
      ok: false,
      code: 'RANGE_INVALID',
      detail: `upload is at offset ${state.offset}`,
      offset: state.offset,
      buffer: task.buffer,
    };
  }
  const bytes = Buffer.from(task.buffer, 0, task.length);
  if (state.writer !== null) {
    try {
      await state.writer.write(bytes);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Completed by another process while this batch was written (the writer took the
      // bytes back out): this upload is gone.
      uploads.delete(task.uploadId);
      await state.writer.close().catch(() => undefined);
      return { ok: false, code: 'BLOB_UPLOAD_UNKNOWN', detail: null, buffer: task.buffer };
    }
  }
  state.hasher.update(bytes);
  state.offset += task.length;
  state.lastUsed = Date.now();
  return withTransfer({ ok: true, offset: state.offset, buffer: task.buffer }, task.buffer);
}

/**
 * Marks `buffer` inside a result for transfer back to the main thread. Piscina moves only a
 * top-level return value; an ArrayBuffer nested in a plain object would be copied (1 MiB per
 * batch, and garbage on both sides).
 */
function withTransfer<T extends object>(result: T, buffer: ArrayBuffer): T {
  return move({ [transferableSymbol]: [buffer], [valueSymbol]: result }) as unknown as T;
}

async function finish(task: FinishTask): Promise<TaskResult<FinishResult>> {
  let state = uploads.get(task.uploadId);
  if (driver.sharedAcrossThreads) {
    state = await withWriter(task.uploadId, task.dataPath, task.algorithm);
  } else if (state === undefined) {
    if (task.storedSize > 0) return needsSeed();
    state = freshState(task.algorithm, null);
  }
  uploads.delete(task.uploadId);

  if (state.writer !== null) await state.writer.commit();
  const checkSize = driver.sharedAcrossThreads && !driver.buffersWrites;
  if (checkSize && (await storedSize(task.dataPath)) !== state.offset) {
    // Written to since the check above (another process appending at the same time): the
    // digest must be of what is stored, which is what completes.
    state.hasher = await rehash(task.dataPath, task.algorithm);
    state.offset = await storedSize(task.dataPath);
  }
  if (state.hasher.algorithm !== task.algorithm) {
    // The client chose another algorithm than the one hashed on the way: read it again.
    if (!driver.sharedAcrossThreads) return needsSeed();
    state.hasher = await rehash(task.dataPath, task.algorithm);
  }
  return { ok: true, digest: state.hasher.digest(), size: state.offset };
}

function seed(task: SeedTask): DoneResult {
  const state = freshState(task.algorithm, null);
  state.hasher.update(Buffer.from(task.buffer, 0, task.length));
  state.offset = task.length;
  uploads.set(task.uploadId, state);
  return { ok: true };
}

async function manifest(task: ManifestTask): Promise<TaskResult<ManifestResult>> {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const checked = checkManifest(bytes, task.contentType, { schema1: task.schema1 });
  const input = checked.digestInput;
  const digest = digestOf(
    task.algorithm,
    Buffer.from(input.buffer, input.byteOffset, input.byteLength),
  );
  if (task.store) await driver.putContent(blobDataPath(parseDigest(digest)), bytes);
  const result: ManifestResult = { ok: true, digest, info: checked.info };
  if (checked.schema1 !== undefined) result.schema1 = checked.schema1;
  return result;
}

/** The pool's entry point: one call per task. Never throws; failures are results. */
export default async function runTask(
  task: Task,
): Promise<TaskResult<AppendResult | FinishResult | ManifestResult | DoneResult>> {
  try {
    switch (task.kind) {
      case 'append':
        return await serialise(task.uploadId, () => append(task));
      case 'finish':
        return await serialise(task.uploadId, () => finish(task));
      case 'seed':
        return await serialise(task.uploadId, async () => seed(task));
      case 'release':
        return await serialise(task.uploadId, () => release(task.uploadId));
      case 'forget': {
        const state = uploads.get(task.uploadId);
        uploads.delete(task.uploadId);
        await state?.writer?.close();
        return { ok: true };
      }
      case 'manifest':
        return await manifest(task);
    }
  } catch (err) {
    return failure(err);
  }
}
