/**
 * Upload sessions (OCI spec "Pushing blobs"): a folder per upload under the repository's
 * `_uploads`, with the bytes in `data` and the start time in `startedat`. Bytes go through
 * the worker pool (see upload-sink.ts); completing an upload checks the digest the client
 * named, then moves the bytes into the blob store in one atomic step. A mismatch leaves
 * nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { isNotFound, type StorageDriver } from '../drivers/driver.js';
import { RegistryError } from '../errors/registry-error.js';
import { parseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import type { WorkerPool } from '../workers/pool.js';
import type { BlobStore } from './blobs.js';
import { deleteIfPresent, orNull } from './links.js';
import { uploadDataPath, uploadPath, uploadStartedAtPath } from './paths.js';
import { finishUpload, forgetUpload, UploadSink } from './upload-sink.js';

// Upload ids are ours (UUIDs) or the Go registry's (UUIDs too): nothing else may name a path.
const uuidGrammar = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export class UploadStore {
  /** The request holding each upload, so that two never write or complete one at once. */
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(
    readonly driver: StorageDriver,
    readonly pool: WorkerPool,
    readonly blobs: BlobStore,
  ) {}

  /**
   * Runs `work` while holding the upload: requests on one upload (a retried PUT, a PATCH
   * racing the PUT that completes it) take turns, in arrival order, instead of mixing bytes.
   * The lock is per process; replicas behind a balancer rely on the per-batch offsets and on
   * the digest check at completion.
   */
  async exclusive<T>(uuid: string, work: () => Promise<T>): Promise<T> {
    const before = this.#busy.get(uuid) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    this.#busy.set(uuid, tail);
    try {
      return await run;
    } finally {
      if (this.#busy.get(uuid) === tail) this.#busy.delete(uuid);
    }
  }

  /** Begins an upload; returns its id and start time. */
  async start(name: string): Promise<{ uuid: string; startedAt: string }> {
    const uuid = randomUUID();
    const startedAt = new Date().toISOString();
    // Not synced: a crash loses the upload's bytes too (they are synced only when it
    // completes), and the purge ages a folder with an unreadable `startedat` by its data.
    await this.driver.putContent(uploadStartedAtPath(name, uuid), startedAt, false);
    return { uuid, startedAt };
  }

  /** A fresh id for a single-request upload, which needs no `startedat`. */
  newId(): string {
    return randomUUID();
  }

  /** Throws `BLOB_UPLOAD_UNKNOWN` unless the upload exists in the repository. */
  async check(name: string, uuid: string): Promise<void> {
    if (!uuidGrammar.test(uuid)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
    const info = await orNull(this.driver.stat(uploadStartedAtPath(name, uuid)));
    if (info === null) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
  }

  /** How many bytes the upload holds. */
  async size(name: string, uuid: string): Promise<number> {
    const path = uploadDataPath(name, uuid);
    if (this.driver.buffersWrites) {
      // An object store's upload between requests is an unfinished multipart upload that
      // `stat` cannot see; a writer opened for appending counts its parts exactly.
      if ((await orNull(this.driver.stat(uploadStartedAtPath(name, uuid)))) === null) return 0;
      const writer = await this.driver.writer(path, true);
      const size = writer.size;
      await writer.close();
      return size;
    }
    const info = await orNull(this.driver.stat(path));
    return info?.size ?? 0;
  }

  /**
   * A sink for one request's bytes. `expectedOffset` is where the client says they start
   * (from `Content-Range`, or the `_state` token of the Location it used), or -1 to append
   * at the end.
   */
  async sink(
    name: string,
    uuid: string,
    algorithm: DigestAlgorithm,
    expectedOffset: number,
  ): Promise<UploadSink> {
    const dataPath = uploadDataPath(name, uuid);
    const local = this.driver.sharedAcrossThreads ? null : await this.driver.writer(dataPath, true);
    if (local !== null && expectedOffset >= 0 && expectedOffset !== local.size) {
      await local.close();
      throw new RegistryError('RANGE_INVALID', `upload is at offset ${local.size}`).withHeader(
        'Range',
        `0-${Math.max(0, local.size - 1)}`,
      );
    }
    const target = { uploadId: uuid, dataPath, algorithm };
    return new UploadSink(this.pool, this.driver, target, expectedOffset, local);
  }

  /**
   * Completes an upload as blob `digest` of the repository. Throws `DIGEST_INVALID` when
   * the bytes do not match (and removes the upload). Returns the blob's size.
   */
  async complete(name: string, uuid: string, digest: Digest): Promise<number> {
    let dataPath = uploadDataPath(name, uuid);
    const storedSize = this.driver.sharedAcrossThreads ? -1 : await this.size(name, uuid);
    if (this.driver.sharedAcrossThreads && !this.driver.buffersWrites) {
      dataPath = await this.#claim(name, uuid, dataPath);
    }
    const target = { uploadId: uuid, dataPath, algorithm: digest.algorithm };
    let result: { digest: string; size: number };
    try {
      result = await finishUpload(this.pool, this.driver, target, storedSize);
    } catch (err) {
      await this.#discard(name, uuid);
      throw err;
    }
    if (result.digest !== digest.value) {
      await this.#discard(name, uuid);
      throw new RegistryError('DIGEST_INVALID', {
        expected: digest.value,
        computed: parseDigest(result.digest).value,
      });
    }
    if (result.size === 0 && (await orNull(this.driver.stat(dataPath))) === null) {
      // An empty blob may have had no byte written, so no data file: make one.
      await this.driver.putContent(dataPath, '');
    }
    await this.blobs.commit(name, digest, dataPath, result.size);
    await deleteIfPresent(this.driver, uploadPath(name, uuid));
    return result.size;
  }

  /**
   * Renames a file system upload's bytes to a name of their own before they are hashed and
   * moved: another process (a replica on the same storage) that takes a PATCH or PUT of
   * the same upload at the same time then finds no `data` to append to (its per-batch
   * check sees the file gone), and of two completions only the first rename succeeds.
   * Without it, bytes appended between the last hash check and the move ended up in the
   * blob, stored under a digest they did not match.
   */
  async #claim(name: string, uuid: string, dataPath: string): Promise<string> {
    const claimed = `${uploadPath(name, uuid)}/claimed`;
    // An empty upload may have had no byte written, so no data file: make one.
    const present = await orNull(this.driver.stat(dataPath));
    if (present === null && (await orNull(this.driver.stat(claimed))) === null) {
      await this.driver.putContent(dataPath, '', false);
    }
    try {
      // Not synced: the move into the blob store that follows is.
      await this.driver.move(dataPath, claimed, false);
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
      throw err;
    }
    return claimed;
  }

  /** Cancels an upload. Throws `BLOB_UPLOAD_UNKNOWN` when there is none. */
  async cancel(name: string, uuid: string): Promise<void> {
    await this.check(name, uuid);
    await this.#discard(name, uuid);
  }

  /** Drops an upload's live state and bytes, whether or not it was ever started. */
  async discard(name: string, uuid: string): Promise<void> {
    await this.#discard(name, uuid);
  }

  async #discard(name: string, uuid: string): Promise<void> {
    await forgetUpload(this.pool, uuid);
    await deleteIfPresent(this.driver, uploadPath(name, uuid));
  }
}
