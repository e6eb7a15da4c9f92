/**
 * The storage driver contract. Every driver (filesystem, inmemory, and the cloud drivers)
 * implements it; the registry core is the only caller. Paths are absolute, slash-separated
 * and already validated by the core (`/docker/registry/v2/...`): a driver never sees `..`
 * or an empty component, but must still refuse one (`InvalidPathError`).
 *
 * Drivers throw only the typed errors below; the core maps them to registry error codes
 * once. Any other error is a driver fault and becomes `UNKNOWN` for the client.
 */
import type { Readable } from 'node:stream';

/** What `stat` reports of a path. Directories have size 0. */
export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
  isDir: boolean;
}

/**
 * An append-only writer to one path, kept open across requests of one upload.
 * Bytes written are durable only after `commit`; `cancel` removes the path.
 */
export interface FileWriter {
  /** Bytes in the file so far, including those written before this writer opened it. */
  readonly size: number;
  /** Appends bytes at the end. Resolves when the driver has taken them (not yet durable). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes every byte written durable (fsync or the cloud equivalent), then closes. */
  commit(): Promise<void>;
  /** Closes without making anything durable; the bytes stay for a later writer. */
  close(): Promise<void>;
  /** Closes and removes the path. */
  cancel(): Promise<void>;
}

/** The operations every driver implements. All are safe to call concurrently. */
export interface StorageDriver {
  /** The driver's name as in the configuration (`filesystem`, `inmemory`, ...). */
  readonly name: string;
  /**
   * Whether a driver built from the same parameters in another thread sees the same data.
   * The inmemory driver does not: its uploads are hashed in workers but written by the main
   * thread.
   */
  readonly sharedAcrossThreads: boolean;
  /**
   * Whether a FileWriter keeps written bytes in memory until `close` or `commit` (object
   * stores buffer whole parts). The registry then closes an upload's writer at the end of
   * every request, so that every byte it acknowledged is in storage for any replica.
   */
  readonly buffersWrites: boolean;
  /**
   * Whether `stat` of a folder gives a time that changes whenever a child is added or
   * removed (a POSIX directory's mtime), so that a listing can be kept and checked against
   * it (core/tag-list-cache.ts). Object stores have no such time.
   */
  readonly folderTimes: boolean;

  /** The whole content of a file. Throws `PathNotFoundError`. */
  getContent(path: string): Promise<Buffer>;
  /**
   * Writes a whole file atomically: readers see the old content or the new, never a part.
   * Durable when it resolves, unless `durable` is false: then a crash may lose the write
   * (never half of it), for state that is worthless after a crash anyway.
   */
  putContent(path: string, content: Uint8Array | string, durable?: boolean): Promise<void>;
  /**
   * A stream of `[start, end)` of a file (to its end when `end` is omitted).
   * Throws `PathNotFoundError`; a `start` past the end gives `InvalidOffsetError`. The
   * stream may be a `RecyclingReadable`.
   */
  reader(path: string, start?: number, end?: number): Promise<Readable>;
  /** Opens an append writer, creating the file. With `append` false, truncates it first. */
  writer(path: string, append: boolean): Promise<FileWriter>;
  /** Size, time and kind of a path. Throws `PathNotFoundError`. */
  stat(path: string): Promise<FileInfo>;
  /**
   * Full paths of the direct children of a directory, unsorted, all at once. Throws
   * `PathNotFoundError`. Holds every child in memory: prefer `listFrom` for folders that
   * may be large.
   */
  list(path: string): Promise<string[]>;
  /**
   * The direct children of a directory, as `list` gives them, but streamed in ascending order
   * of their names (UTF-16 code units, which for path characters is byte order) and only
   * those whose name sorts after `startAfter` (a name, not a path; it need not exist; a `/`
   * in it is an `InvalidPathError`). A folder of any size can be read: each driver holds a
   * bounded number of names at a time and documents the bound. The caller may stop early
   * (`break`), which releases what the driver held. Children added or removed while the
   * iteration runs may or may not be seen, and none is yielded twice. A missing directory
   * throws `PathNotFoundError` from the first step, wherever `list` would throw it.
   */
  listFrom(path: string, startAfter?: string): AsyncIterable<string>;
  /**
   * Moves a file atomically, replacing `dest`. Throws `PathNotFoundError` for `source`.
   * Durable when it resolves, unless `durable` is false (a rename a crash may undo).
   */
  move(source: string, dest: string, durable?: boolean): Promise<void>;
  /** Removes a file or a whole directory tree. Throws `PathNotFoundError`. */
  delete(path: string): Promise<void>;
  /**
   * A URL the client can fetch the content from directly, or null when not supported.
   * `clientIp` is the address of the client that will follow the URL, when known; drivers
   * ignore it, storage middleware may choose the URL by it (cloudfront's `ipfilteredby`).
   */
  redirectURL(method: 'GET' | 'HEAD', path: string, clientIp?: ClientIp): Promise<string | null>;
}

/**
 * A client's address, or a function that works it out when called: most requests go to
 * drivers that never ask (working it out from a PROXY header or `X-Forwarded-For` showed in
 * profiles of blob HEADs).
 */
export type ClientIp = string | (() => string);

/** The address `ip` names. */
export function clientIpOf(ip: ClientIp): string {
  return typeof ip === 'function' ? ip() : ip;
}

/** Parameters of a driver, as in its section of the configuration. */
/**
 * A reader stream that takes its chunks back for reuse: a consumer done with a chunk's bytes
 * (it keeps no reference, and nothing it handed them to does) may `recycle` it, and a later
 * read of any such stream may fill the same memory. Consumers that do not recycle lose
 * nothing; their chunks are collected as usual.
 */
export interface RecyclingReadable {
  recycle(chunk: Buffer): void;
}

/** True when `readable` takes chunks back (see `RecyclingReadable`). */
export function canRecycle(readable: Readable): readable is Readable & RecyclingReadable {
  return typeof (readable as Partial<RecyclingReadable>).recycle === 'function';
}

export type DriverParameters = Record<string, unknown>;

/** Base of the typed driver errors; `driver` names the driver that threw. */
export class StorageDriverError extends Error {
  constructor(
    message: string,
    readonly driver: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The path does not exist. */
export class PathNotFoundError extends StorageDriverError {
  constructor(
    readonly path: string,
    driver: string,
  ) {
    super(`path not found: ${path}`, driver);
  }
}

/** The path is not one the driver accepts (empty component, `..`, bad characters). */
export class InvalidPathError extends StorageDriverError {
  constructor(
    readonly path: string,
    driver: string,
  ) {
    super(`invalid path: ${path}`, driver);
  }
}

/** A read started past the end of the file. */
export class InvalidOffsetError extends StorageDriverError {
  constructor(
    readonly path: string,
    readonly offset: number,
    driver: string,
  ) {
    super(`invalid offset ${offset} for ${path}`, driver);
  }
}

/** True when `err` says the path does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof PathNotFoundError;
}
