/**
 * The `s3` storage driver: driver paths are objects of one bucket, keyed as the reference
 * registry keys them (see keys.ts), so that the Go registry on the same bucket and
 * `rootdirectory` serves what Berth stored and the other way round. Works with AWS S3 and
 * S3-compatible services (Ceph RGW, MinIO, ...).
 *
 * The AWS SDK is loaded on the first operation, not with this module: every worker thread
 * builds its driver through the factory, and the SDK costs a third of a second and some
 * 25 MiB per thread that a registry on another driver should not pay.
 *
 * `loglevel` is validated but has no effect: the driver gets no logger from the registry,
 * and the SDK's own request logging would write unstructured lines beside the JSON log.
 * Requests that fail after every retry reach the log through the core, with their cause.
 */
import type { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver } from '../driver.js';
import { InvalidOffsetError } from '../driver.js';
import { checkPath, checkStartAfter } from '../paths.js';
import { KeyMap } from './keys.js';
import type { S3DriverParams } from './params.js';
import type { S3Storage } from './storage.js';

export { parseS3Params } from './params.js';
export type { S3DriverParams } from './params.js';

const NAME = 's3';

/** Options of an `S3Driver` that are not configuration parameters. */
export interface S3DriverOptions {
  /**
   * Whether `redirectURL` hands out presigned URLs; default true. False makes it return
   * null, as drivers without URLs do (the shared driver suite expects that).
   */
  redirect?: boolean;
}

/**
 * A `StorageDriver` on an S3 bucket. It is shared across threads: every thread's instance
 * sees the same bucket. Operations follow the contract with these S3 particulars:
 * `putContent` is one PutObject (atomic); `move` is a copy and a delete (the destination
 * appears atomically, the source disappears just after); directories exist while an object
 * lies below them; writers are multipart uploads that survive across requests, processes
 * and replicas (see writer.ts). Transient failures (5xx, throttling, connection resets) are
 * retried by the SDK, 5 attempts with exponential backoff; a missing key becomes
 * `PathNotFoundError`; other failures a `StorageDriverError` with the SDK's error as cause.
 */
export class S3Driver implements StorageDriver {
  readonly name = NAME;
  readonly sharedAcrossThreads = true;
  readonly buffersWrites = true;
  /** Folders are key prefixes, with no time of their own. */
  readonly folderTimes = false;
  readonly #params: S3DriverParams;
  readonly #redirect: boolean;
  readonly #keys: KeyMap;
  #storage: Promise<S3Storage> | undefined;

  /** `params` as given by `parseS3Params`; nothing is contacted until the first operation. */
  constructor(params: S3DriverParams, options: S3DriverOptions = {}) {
    this.#params = params;
    this.#redirect = options.redirect ?? true;
    this.#keys = new KeyMap(params.rootdirectory);
  }

  /**
   * The S3 object key of a driver path (`rootdirectory` first, no leading slash), as the
   * reference's `S3BucketKey`: what the `cloudfront` middleware signs under its `baseurl`.
   * Computed locally; nothing is contacted.
   */
  s3Key(path: string): string {
    checkPath(path, NAME);
    return this.#keys.key(path);
  }

  /** The SDK-backed operations, loaded once. */
  #ops(): Promise<S3Storage> {
    this.#storage ??= import('./storage.js').then((m) => new m.S3Storage(this.#params));
    return this.#storage;
  }

  async getContent(path: string): Promise<Buffer> {
    checkPath(path, NAME);
    return (await this.#ops()).getContent(path);
  }

  async putContent(path: string, content: Uint8Array | string): Promise<void> {
    checkPath(path, NAME);
    return (await this.#ops()).putContent(path, content);
  }

  /** `start` must be a non-negative integer and `end` one not below it (`InvalidOffsetError`). */
  async reader(path: string, start = 0, end?: number): Promise<Readable> {
    checkPath(path, NAME);
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new InvalidOffsetError(path, start, NAME);
    }
    if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
      throw new InvalidOffsetError(path, end, NAME);
    }
    return (await this.#ops()).reader(path, start, end);
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    checkPath(path, NAME);
    return (await this.#ops()).writer(path, append);
  }

  async stat(path: string): Promise<FileInfo> {
    checkPath(path, NAME, true);
    return (await this.#ops()).stat(path);
  }

  async list(path: string): Promise<string[]> {
    checkPath(path, NAME, true);
    return (await this.#ops()).list(path);
  }

  async *listFrom(path: string, startAfter?: string): AsyncGenerator<string> {
    checkPath(path, NAME, true);
    checkStartAfter(startAfter, NAME);
    yield* (await this.#ops()).listFrom(path, startAfter);
  }

  async move(source: string, dest: string): Promise<void> {
    checkPath(source, NAME);
    checkPath(dest, NAME);
    return (await this.#ops()).move(source, dest);
  }

  async delete(path: string): Promise<void> {
    checkPath(path, NAME);
    return (await this.#ops()).delete(path);
  }

  /** A presigned URL valid for 20 minutes (null when built with `redirect: false`). */
  async redirectURL(method: 'GET' | 'HEAD', path: string): Promise<string | null> {
    checkPath(path, NAME);
    if (!this.#redirect) return null;
    return (await this.#ops()).redirectURL(method, path);
  }
}
