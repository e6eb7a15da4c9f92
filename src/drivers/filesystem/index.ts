/**
 * The `filesystem` storage driver: driver paths are plain files and directories under
 * `rootdirectory`, exactly as the reference registry lays them out, so either registry can
 * serve a tree the other wrote. Files are created 0666 and directories 0777 (less the umask),
 * as the reference does.
 */
import { randomBytes } from 'node:crypto';
import { statfsSync, statSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, opendir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver } from '../driver.js';
import { InvalidOffsetError, PathNotFoundError } from '../driver.js';
import { checkPath, checkStartAfter, childPath } from '../paths.js';
import { errnoCode, isMissing } from './errno.js';
import { FileReader } from './file-reader.js';
import { Gate } from './gate.js';
import {
  closeQuietly,
  lstatPath,
  openForReading,
  readWhole,
  readWholeVersioned,
  statPath,
} from './syscalls.js';
import { SmallFileCache } from './small-files.js';
import { FsFileWriter } from './writer.js';

const NAME = 'filesystem';

/** The reference's default for `maxthreads`. */
export const DEFAULT_MAX_THREADS = 100;
/** The smallest `maxthreads` accepted (the reference's floor). */
export const MIN_MAX_THREADS = 25;

/**
 * Prefix of `putContent`'s temporary files. Registry path components (repository names,
 * tags, digests, upload ids) never start with `.`, so no registry content can carry this
 * name; `list` hides such files so that a walk never trips over an in-flight write.
 */
export const TEMP_PREFIX = '.berth-tmp.';

/**
 * Names `listFrom` sorts and hands out per pass over a directory. A directory has no order of
 * its own, so each pass reads every entry and keeps the smallest names after the previous
 * pass's last: at most twice this many names are held, and a folder of n entries is read
 * ceil(n / LIST_BATCH) times (a folder of 100 000 entries on tmpfs: 10 passes of some 120 ms).
 */
export const LIST_BATCH = 10_000;

/**
 * Entries per `readdir` call of a `listFrom` pass. Node's default of 32 makes a pass over
 * 100 000 entries take 170-180 ms on tmpfs; 512 takes 100-110 ms.
 */
const DIR_BUFFER = 512;

/**
 * Bytes per read of a `reader` stream: `READ_BUDGET` shared by the streams open at its
 * start, a power of two between `MIN_READ_CHUNK` and `MAX_READ_CHUNK`. Larger reads cost
 * less CPU per byte (one 256 MiB GET: 424 MB/s with 256 KiB reads, 880 with 1 MiB). A
 * stream holds at most about two reads at a time, and the chunks the reply pump has sent go
 * back to a shared pool (file-reader.ts), so the budget bounds memory: with a fresh buffer
 * per read, 64 streams of 1 MiB reads reached 373 MiB RSS against 221 with 256 KiB.
 */
const READ_BUDGET = 8 << 20;
const MIN_READ_CHUNK = 64 << 10;
const MAX_READ_CHUNK = 1 << 20;

/** The read size for a stream opening while `open` others are open. */
export function readChunkFor(open: number): number {
  let chunk = MAX_READ_CHUNK;
  while (chunk > MIN_READ_CHUNK && chunk * (open + 1) > READ_BUDGET) chunk >>>= 1;
  return chunk;
}

/** Parameters of the filesystem driver, as in its section of the configuration. */
export interface FilesystemDriverParams {
  /** Directory the registry tree lives under; relative paths resolve against the cwd. */
  rootdirectory: string;
  /** Operations in flight at once; an integer of at least 25, 100 when absent. */
  maxthreads?: number;
}

/**
 * A `StorageDriver` on the local filesystem. Every operation holds one slot of a gate of
 * `maxthreads` slots while it touches the disk (see `Gate`); `reader` streams read outside
 * it, as the reference's readers do. Reads of a directory, of a missing path, or of a path
 * under a file throw `PathNotFoundError`; other OS errors are passed through as faults.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = NAME;
  readonly sharedAcrossThreads = true;
  readonly buffersWrites = false;
  /**
   * A directory's mtime changes with every entry added or removed; but on a file system
   * shared over the network a client answers `stat` from its attribute cache (up to a
   * minute on NFS) while `open` and `readdir` ask the server, so there folder times are not
   * trusted (see `onLocalFileSystem`).
   */
  readonly folderTimes: boolean;
  /** The absolute root directory. */
  readonly rootDirectory: string;
  /** `rootDirectory` without a trailing slash (empty for `/`), for joining driver paths. */
  private readonly prefix: string;
  private readonly gate: Gate;
  /** Small files kept between reads; null on network file systems. */
  private readonly small: SmallFileCache | null;
  /** `reader` streams not yet closed, which share `READ_BUDGET`. */
  private openReaders = 0;

  /** Throws RangeError for an empty `rootdirectory` or a bad `maxthreads`. */
  constructor(params: FilesystemDriverParams) {
    if (typeof params.rootdirectory !== 'string' || params.rootdirectory === '') {
      throw new RangeError('filesystem driver: rootdirectory must be a non-empty string');
    }
    const maxthreads = params.maxthreads ?? DEFAULT_MAX_THREADS;
    if (!Number.isSafeInteger(maxthreads) || maxthreads < MIN_MAX_THREADS) {
      throw new RangeError(
        `filesystem driver: maxthreads must be an integer >= ${MIN_MAX_THREADS}, ` +
          `got ${String(params.maxthreads)}`,
      );
    }
    this.rootDirectory = resolve(params.rootdirectory);
    this.prefix = this.rootDirectory === '/' ? '' : this.rootDirectory;
    this.gate = new Gate(maxthreads);
    this.folderTimes = onLocalFileSystem(this.rootDirectory);
    this.small = this.folderTimes ? new SmallFileCache() : null;
  }

  /**
   * On a local file system small files are kept (`SmallFileCache`): a kept file is served
   * after one `stat` shows it unchanged, instead of open, read and close. The bytes returned
   * may be shared with other callers, which must not change them.
   */
  async getContent(path: string): Promise<Buffer> {
    checkPath(path, NAME);
    const file = this.osPath(path);
    const small = this.small;
    if (small?.has(file) === true) {
      const kept = keptContent(small, file, path);
      if (kept !== undefined) return kept;
    }
    await this.gate.enter();
    try {
      if (small === null) return await readWhole(file);
      const readAt = Date.now();
      const { bytes, info } = await readWholeVersioned(file);
      if (info.isDirectory()) throw new PathNotFoundError(path, NAME);
      small.set(file, info, readAt, bytes);
      return bytes;
    } catch (err) {
      throw notFoundFor(err, path, true);
    } finally {
      this.gate.leave();
    }
  }

  /**
   * Writes a sibling temporary file, `fdatasync`s it, renames it over the target (the one
   * atomic step) and then syncs the directory so the new name survives a crash, as the
   * reference does, together with the parents of any directory it had to create. With
   * `durable` false (state that a crash may lose, such as an upload's start time) nothing
   * is synced: the rename is still atomic. On any failure the temporary file is removed.
   */
  async putContent(path: string, content: Uint8Array | string, durable = true): Promise<void> {
    checkPath(path, NAME);
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const target = this.osPath(path);
    const dir = dirname(target);
    const temp = `${dir}/${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
    await this.gate.enter();
    try {
      // `wx`: never adopt a file someone else created under the same random name.
      const { handle, created } = await openCreating(temp, 'wx');
      try {
        await handle.writeFile(data);
        if (durable) await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
      if (durable) await syncDirs(dir, created);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    } finally {
      this.gate.leave();
    }
  }

  /**
   * Opens the file and checks the range against its size at open time, so that the errors
   * are thrown here rather than from the stream. The stream owns the descriptor and closes
   * it at its end or when destroyed. `end` past the size reads to the end; `end` before
   * `start` or a negative `start` is an `InvalidOffsetError`.
   */
  async reader(path: string, start = 0, end?: number): Promise<Readable> {
    checkPath(path, NAME);
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new InvalidOffsetError(path, start, NAME);
    }
    if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
      throw new InvalidOffsetError(path, end, NAME);
    }
    let fd: number | undefined;
    await this.gate.enter();
    try {
      const file = this.osPath(path);
      const opened = await openForReading(file);
      fd = opened.fd;
      const { info } = opened;
      if (info.isDirectory()) throw new PathNotFoundError(path, NAME);
      if (start > info.size) throw new InvalidOffsetError(path, start, NAME);
      if (start === info.size || end === start) return emptyStream();
      // Without `end`, to the end of the file at the time of each read, as it grows.
      const stream = new FileReader(fd, start, end ?? Infinity, readChunkFor(this.openReaders));
      fd = undefined;
      this.openReaders++;
      stream.once('close', () => this.openReaders--);
      return stream;
    } catch (err) {
      throw notFoundFor(err, path, false);
    } finally {
      if (fd !== undefined) await closeQuietly(fd);
      this.gate.leave();
    }
  }

  /** Opens in `a` (append) or `w` (truncate) mode, creating the file and its parents. */
  async writer(path: string, append: boolean): Promise<FileWriter> {
    checkPath(path, NAME);
    const file = this.osPath(path);
    await this.gate.enter();
    try {
      const { handle } = await openCreating(file, append ? 'a' : 'w');
      let size = 0;
      if (append) {
        try {
          size = (await handle.stat()).size;
        } catch (err) {
          await handle.close().catch(() => undefined);
          throw err;
        }
      }
      return new FsFileWriter(handle, file, size, this.gate);
    } finally {
      this.gate.leave();
    }
  }

  async stat(path: string): Promise<FileInfo> {
    checkPath(path, NAME, true);
    await this.gate.enter();
    try {
      const info = await statPath(this.osPath(path));
      const isDir = info.isDirectory();
      return { path, size: isDir ? 0 : info.size, modTime: info.mtime, isDir };
    } catch (err) {
      throw notFoundFor(err, path, false);
    } finally {
      this.gate.leave();
    }
  }

  /** Children of a directory, without `putContent`'s in-flight temporary files. */
  async list(path: string): Promise<string[]> {
    checkPath(path, NAME, true);
    let names: string[];
    await this.gate.enter();
    try {
      names = await readdir(this.osPath(path));
    } catch (err) {
      throw notFoundFor(err, path, false);
    } finally {
      this.gate.leave();
    }
    const children: string[] = [];
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) children.push(childPath(path, name));
    }
    return children;
  }

  /**
   * Children in name order, `LIST_BATCH` names per pass over the directory (see there for
   * the memory bound and the cost). Each pass holds a gate slot only while it reads;
   * `putContent`'s temporary files are hidden as in `list`.
   */
  async *listFrom(path: string, startAfter?: string): AsyncGenerator<string> {
    checkPath(path, NAME, true);
    checkStartAfter(startAfter, NAME);
    let after = startAfter;
    for (;;) {
      const batch = await this.#smallestNames(path, after);
      for (const name of batch) yield childPath(path, name);
      if (batch.length < LIST_BATCH) return;
      after = batch[batch.length - 1];
    }
  }

  /** One pass of `listFrom`: the `LIST_BATCH` smallest names after `after`, sorted. */
  async #smallestNames(path: string, after: string | undefined): Promise<string[]> {
    const kept: string[] = [];
    await this.gate.enter();
    try {
      // Names at or above `bound` cannot be among the smallest once the batch is full.
      let bound: string | undefined;
      const dir = await opendir(this.osPath(path), { bufferSize: DIR_BUFFER });
      for await (const { name } of dir) {
        if (name.startsWith(TEMP_PREFIX)) continue;
        if ((after !== undefined && name <= after) || (bound !== undefined && name >= bound)) {
          continue;
        }
        kept.push(name);
        if (kept.length === 2 * LIST_BATCH) {
          kept.sort();
          kept.length = LIST_BATCH;
          bound = kept[LIST_BATCH - 1];
        }
      }
    } catch (err) {
      throw notFoundFor(err, path, false);
    } finally {
      this.gate.leave();
    }
    kept.sort();
    if (kept.length > LIST_BATCH) kept.length = LIST_BATCH;
    return kept;
  }

  /**
   * `rename(2)`, which replaces `dest` atomically. The destination's parents are created
   * only when the first attempt shows they are missing, which saves a `mkdir` per move.
   * Then the destination's directory is synced, and with it (at once, not one after the
   * other) the parents of the directories just created, so that the blob a client is told
   * about next survives a crash.
   */
  async move(source: string, dest: string, durable = true): Promise<void> {
    checkPath(source, NAME);
    checkPath(dest, NAME);
    const from = this.osPath(source);
    const to = this.osPath(dest);
    await this.gate.enter();
    try {
      const created = await this.#rename(source, from, to);
      if (durable) await syncDirs(dirname(to), created);
    } finally {
      this.gate.leave();
    }
  }

  /** Renames; returns the directories it had to create for `to`, outermost first. */
  async #rename(source: string, from: string, to: string): Promise<string[]> {
    try {
      await rename(from, to);
      return [];
    } catch (err) {
      if (!isMissing(err)) throw err;
      // ENOENT/ENOTDIR may be about either side: a missing source is the caller's error.
      if (!(await exists(from))) throw new PathNotFoundError(source, NAME);
      if (errnoCode(err) !== 'ENOENT') throw err;
      const created = await makeDirs(dirname(to));
      // Failing now means the source vanished in between (a concurrent move or delete).
      await rename(from, to).catch((retryErr: unknown) => {
        throw notFoundFor(retryErr, source, false);
      });
      return created;
    }
  }

  /** `rm -r`; empty parent directories stay, as in the reference. */
  async delete(path: string): Promise<void> {
    checkPath(path, NAME);
    await this.gate.enter();
    try {
      await rm(this.osPath(path), { recursive: true });
    } catch (err) {
      throw notFoundFor(err, path, false);
    } finally {
      this.gate.leave();
    }
  }

  /** The filesystem has no URL to hand out. */
  async redirectURL(_method: 'GET' | 'HEAD', path: string): Promise<string | null> {
    checkPath(path, NAME);
    return null;
  }

  /** The OS path of a (validated) driver path. */
  private osPath(path: string): string {
    if (path === '/') return this.prefix === '' ? '/' : this.prefix;
    return this.prefix + path;
  }
}

/**
 * `statfs` magic numbers of file systems shared over a network or run in user space (FUSE:
 * sshfs, s3fs, gcsfuse...), whose `stat` may answer from a cache that `open` bypasses.
 */
const NETWORK_FILE_SYSTEMS = new Set([
  0x6969, // NFS
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x65735546, // FUSE
  0x00c36400, // CephFS
  0x01021997, // 9p
  0x47504653, // GPFS
  0x0bd00bd0, // Lustre
  0x5346414f, // AFS
  0x6b414653, // kAFS
]);

/**
 * Whether `dir` (or, before it exists, its nearest existing parent) is on a local file
 * system. Unknown counts as not local.
 */
export function onLocalFileSystem(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    try {
      return !NETWORK_FILE_SYSTEMS.has(statfsSync(at).type);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || dirname(at) === at) return false;
    }
  }
}

/**
 * `err` as thrown to the core: a missing path becomes `PathNotFoundError` (with `isDirToo`,
 * so does a directory where a file was expected); typed errors and faults pass unchanged.
 */
function notFoundFor(err: unknown, path: string, isDirToo: boolean): unknown {
  if (isMissing(err) || (isDirToo && errnoCode(err) === 'EISDIR')) {
    return new PathNotFoundError(path, NAME);
  }
  return err;
}

/** Whether anything (even a dangling link) is at `file`; errors other than absence throw. */
async function exists(file: string): Promise<boolean> {
  try {
    await lstatPath(file);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/**
 * Opens `file` with `flags`, creating its parent directories when they are missing; also
 * returns the directories it created, outermost first.
 */
async function openCreating(
  file: string,
  flags: string,
): Promise<{ handle: FileHandle; created: string[] }> {
  try {
    return { handle: await open(file, flags), created: [] };
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const created = await makeDirs(dirname(file));
  return { handle: await open(file, flags), created };
}

/**
 * `mkdir -p`, one level at a time; returns the directories this call created, outermost
 * first (none when another caller created them meanwhile). Node's `mkdir({ recursive:
 * true })` can spin forever where a parent can never be created (a root under /proc was
 * seen looping at 100% CPU); this gives up with the error once it reaches a parent that
 * cannot exist.
 */
async function makeDirs(dir: string, depth = 0): Promise<string[]> {
  try {
    await mkdir(dir);
    return [dir];
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return [];
    if (code !== 'ENOENT' || depth > 64 || dirname(dir) === dir) throw err;
    const above = await makeDirs(dirname(dir), depth + 1);
    try {
      await mkdir(dir);
      return [...above, dir];
    } catch (again) {
      if (errnoCode(again) !== 'EEXIST') throw again;
      return above;
    }
  }
}

/**
 * `fsync`s `dir` (where a name was just added) and the parent of each directory in
 * `created` (where their names were added), all at once: on a journalling file system
 * concurrent syncs join one commit, so they cost about one sync's wait.
 */
async function syncDirs(dir: string, created: readonly string[]): Promise<void> {
  if (created.length === 0) return syncDir(dir);
  const dirs = new Set([dir, ...created.map((d) => dirname(d))]);
  await Promise.all([...dirs].map(syncDir));
}

/** `fsync`s a directory so that a rename in it is durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A byte-mode stream with no data, for empty ranges. */
/**
 * The kept bytes of `file` if a `stat` shows it unchanged, else undefined; throws
 * `PathNotFoundError` when it is gone. The `stat` is synchronous: a file kept was read
 * recently, so its inode is in the kernel's memory and the call takes a microsecond or two,
 * where a trip through libuv's thread pool (a lock and a wake-up each way) cost the main
 * thread more than the call itself: with 256 manifest GETs by tag in flight, a seventh of
 * the main thread's samples sat in the asynchronous `stat`. If memory pressure evicted the
 * inode, this one call waits for the disk, as the asynchronous one would have.
 */
function keptContent(small: SmallFileCache, file: string, path: string): Buffer | undefined {
  let info: Stats | undefined;
  try {
    info = statSync(file, { throwIfNoEntry: false });
  } catch (err) {
    throw notFoundFor(err, path, true);
  }
  if (info === undefined) {
    small.forget(file);
    throw new PathNotFoundError(path, NAME);
  }
  return small.get(file, info);
}

function emptyStream(): Readable {
  return Readable.from([], { objectMode: false });
}
