/**
 * The `inmemory` storage driver: a tree of directories and files in this thread's heap, for
 * tests and throwaway registries. Nothing survives the process, and other threads do not
 * see it (`sharedAcrossThreads` is false).
 */
import { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver } from '../driver.js';
import { InvalidOffsetError, PathNotFoundError } from '../driver.js';
import { checkPath, checkStartAfter, childPath } from '../paths.js';

const NAME = 'inmemory';

/** Bytes per chunk of a `reader` stream, as the filesystem driver reads. */
const READ_CHUNK = 256 * 1024;

/**
 * A file's bytes as the chunks written to it, so that appends are O(1); `contentOf` joins
 * them on first read. Chunks are private copies and never mutated, so a joined buffer can
 * be shared with readers while writers keep appending.
 */
interface MemFile {
  readonly dir: false;
  chunks: Buffer[];
  size: number;
  modTime: Date;
}

/** A directory exists only while some file lies beneath it (it is implied by file paths). */
interface MemDir {
  readonly dir: true;
  readonly children: Map<string, MemNode>;
  /**
   * The children's names in ascending order, built by `listFrom` on first use and dropped
   * whenever a name is added or removed (through `setChild` and `deleteChild`).
   */
  sorted: string[] | undefined;
  modTime: Date;
}

type MemNode = MemFile | MemDir;

/**
 * A `StorageDriver` in memory with the filesystem driver's semantics: same path rules and
 * errors, atomic `putContent` (trivially: it never yields midway), writers whose bytes are
 * visible as they are written. Directories are implied: creating a file creates its parents,
 * and removing a directory's last entry removes the directory. Where the filesystem would
 * fail with an OS error (a file used as a directory, moving a directory into itself), this
 * driver throws a plain Error, a fault to the core as the OS error would be.
 */
export class InMemoryDriver implements StorageDriver {
  readonly name = NAME;
  readonly sharedAcrossThreads = false;
  readonly buffersWrites = false;
  /** Adding or removing a child stamps its folder with the time. */
  readonly folderTimes = true;
  private readonly root: MemDir = newDir();

  async getContent(path: string): Promise<Buffer> {
    checkPath(path, NAME);
    // A copy: the stored buffer is shared with readers and must not be changed by callers.
    return Buffer.from(contentOf(this.file(path)));
  }

  async putContent(path: string, content: Uint8Array | string): Promise<void> {
    checkPath(path, NAME);
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const { dir, name } = this.parentFor(path);
    if (dir.children.get(name)?.dir === true) throw new Error(`${path} is a directory`);
    const now = new Date();
    setChild(dir, name, { dir: false, chunks: [data], size: data.byteLength, modTime: now });
    dir.modTime = now;
  }

  /** A stream of a snapshot of `[start, end)` taken now; later writes do not show in it. */
  async reader(path: string, start = 0, end?: number): Promise<Readable> {
    checkPath(path, NAME);
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new InvalidOffsetError(path, start, NAME);
    }
    if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
      throw new InvalidOffsetError(path, end, NAME);
    }
    const file = this.file(path);
    if (start > file.size) throw new InvalidOffsetError(path, start, NAME);
    const stop = end === undefined ? file.size : Math.min(end, file.size);
    return Readable.from(slices(contentOf(file), start, stop), { objectMode: false });
  }

  /** Opens `path` for appending, creating it (and its parents), or truncating it. */
  async writer(path: string, append: boolean): Promise<FileWriter> {
    checkPath(path, NAME);
    const { dir, name } = this.parentFor(path);
    let node = dir.children.get(name);
    if (node?.dir === true) throw new Error(`${path} is a directory`);
    const now = new Date();
    if (node === undefined) {
      node = { dir: false, chunks: [], size: 0, modTime: now };
      setChild(dir, name, node);
      dir.modTime = now;
    } else if (!append) {
      // Truncates the file in place, as O_TRUNC does, so other writers of it see it too.
      node.chunks = [];
      node.size = 0;
      node.modTime = now;
    }
    return new MemFileWriter(this, path, node);
  }

  async stat(path: string): Promise<FileInfo> {
    checkPath(path, NAME, true);
    const node = this.find(path);
    if (node === undefined) throw new PathNotFoundError(path, NAME);
    return { path, size: node.dir ? 0 : node.size, modTime: node.modTime, isDir: node.dir };
  }

  async list(path: string): Promise<string[]> {
    checkPath(path, NAME, true);
    const node = this.find(path);
    if (node === undefined || !node.dir) throw new PathNotFoundError(path, NAME);
    const children: string[] = [];
    for (const name of node.children.keys()) children.push(childPath(path, name));
    return children;
  }

  /**
   * Children in name order from the directory's sorted names. The bound: one array of
   * references to the names already held by the tree (8 bytes a child), kept on the directory
   * until a child is added or removed; a name removed meanwhile is skipped.
   */
  async *listFrom(path: string, startAfter?: string): AsyncGenerator<string> {
    checkPath(path, NAME, true);
    checkStartAfter(startAfter, NAME);
    const node = this.find(path);
    if (node === undefined || !node.dir) throw new PathNotFoundError(path, NAME);
    node.sorted ??= [...node.children.keys()].sort();
    const names = node.sorted;
    for (
      let at = startAfter === undefined ? 0 : firstAfter(names, startAfter);
      at < names.length;
      at++
    ) {
      const name = names[at] ?? '';
      if (node.children.has(name)) yield childPath(path, name);
    }
  }

  /**
   * Moves the node itself, so an open writer of `source` keeps writing to it under its new
   * name (as a descriptor follows a renamed file). Like `rename(2)`, replaces a file but
   * refuses to replace a directory or to move a directory over a file or into itself.
   */
  async move(source: string, dest: string): Promise<void> {
    checkPath(source, NAME);
    checkPath(dest, NAME);
    const node = this.find(source);
    if (node === undefined) throw new PathNotFoundError(source, NAME);
    if (source === dest) return;
    if (dest.startsWith(`${source}/`)) throw new Error(`cannot move ${source} into itself`);
    const existing = this.find(dest);
    if (existing !== undefined && (existing.dir || node.dir)) {
      throw new Error(`cannot move ${source} over ${dest}`);
    }
    const { dir, name } = this.parentFor(dest);
    this.unlink(source);
    const now = new Date();
    setChild(dir, name, node);
    dir.modTime = now;
    // Pruned only now: the source's emptied parents may be the destination's ancestors.
    this.prune(source);
  }

  async delete(path: string): Promise<void> {
    checkPath(path, NAME);
    if (!this.unlink(path)) throw new PathNotFoundError(path, NAME);
    this.prune(path);
  }

  async redirectURL(_method: 'GET' | 'HEAD', path: string): Promise<string | null> {
    checkPath(path, NAME);
    return null;
  }

  /** Removes the file at `path` if there is one; what a filesystem writer's `cancel` does. */
  removeFile(path: string): void {
    if (this.find(path)?.dir === false && this.unlink(path)) this.prune(path);
  }

  /** The node at a validated path, or undefined. */
  private find(path: string): MemNode | undefined {
    let node: MemNode = this.root;
    if (path === '/') return node;
    for (const name of path.slice(1).split('/')) {
      if (!node.dir) return undefined;
      const child: MemNode | undefined = node.children.get(name);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  /** The file at `path`; a directory or nothing there is `PathNotFoundError`. */
  private file(path: string): MemFile {
    const node = this.find(path);
    if (node === undefined || node.dir) throw new PathNotFoundError(path, NAME);
    return node;
  }

  /**
   * The directory that holds `path` (created with its parents as needed) and the last name.
   * Throws before creating anything when a parent is a file, as the parents that exist
   * are all walked before the first one is created.
   */
  private parentFor(path: string): { dir: MemDir; name: string } {
    const names = path.slice(1).split('/');
    const name = names.pop() ?? '';
    let dir = this.root;
    for (const part of names) {
      const child = dir.children.get(part);
      if (child === undefined) {
        const created = newDir();
        setChild(dir, part, created);
        dir.modTime = created.modTime;
        dir = created;
      } else if (child.dir) {
        dir = child;
      } else {
        throw new Error(`not a directory: ${part} in ${path}`);
      }
    }
    return { dir, name };
  }

  /** Detaches the node at `path` from its parent; false when nothing is there. */
  private unlink(path: string): boolean {
    const cut = path.lastIndexOf('/');
    const parent = this.find(cut === 0 ? '/' : path.slice(0, cut));
    if (parent === undefined || !parent.dir) return false;
    const removed = deleteChild(parent, path.slice(cut + 1));
    if (removed) parent.modTime = new Date();
    return removed;
  }

  /** Removes the now empty directories above a removed `path`, innermost first. */
  private prune(path: string): void {
    for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
      const dirPath = path.slice(0, cut);
      const node = this.find(dirPath);
      if (node === undefined || !node.dir || node.children.size > 0) return;
      this.unlink(dirPath);
    }
  }
}

/**
 * The in-memory `FileWriter`: appends copies of the chunks to the file node it opened.
 * Like a descriptor, it keeps the node even if the path is replaced or deleted meanwhile.
 * `close` after `close` or `commit` is a no-op; `cancel` always removes the path.
 */
class MemFileWriter implements FileWriter {
  private state: 'open' | 'closed' | 'committed' | 'cancelled' = 'open';
  private written: number;

  constructor(
    private readonly driver: InMemoryDriver,
    private readonly path: string,
    private readonly node: MemFile,
  ) {
    this.written = node.size;
  }

  get size(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen('write');
    // A copy: callers reuse their buffers, and stored chunks must never change.
    this.node.chunks.push(Buffer.from(chunk));
    this.node.size += chunk.byteLength;
    this.node.modTime = new Date();
    this.written += chunk.byteLength;
  }

  async commit(): Promise<void> {
    this.assertOpen('commit');
    this.state = 'committed';
  }

  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closed';
  }

  async cancel(): Promise<void> {
    if (this.state === 'cancelled') return;
    this.state = 'cancelled';
    this.driver.removeFile(this.path);
  }

  private assertOpen(op: string): void {
    if (this.state !== 'open') throw new Error(`${op} on a ${this.state} writer: ${this.path}`);
  }
}

function newDir(): MemDir {
  return { dir: true, children: new Map(), sorted: undefined, modTime: new Date() };
}

/** Sets a child of `dir`, dropping its sorted names when the name is new. */
function setChild(dir: MemDir, name: string, node: MemNode): void {
  if (!dir.children.has(name)) dir.sorted = undefined;
  dir.children.set(name, node);
}

/** Removes a child of `dir`; false when there was none. */
function deleteChild(dir: MemDir, name: string): boolean {
  const removed = dir.children.delete(name);
  if (removed) dir.sorted = undefined;
  return removed;
}

/** The index of the first of the ascending `names` that sorts after `after`. */
function firstAfter(names: readonly string[], after: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((names[mid] ?? '') <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The whole content of `file`, joining its chunks once and keeping the result. */
function contentOf(file: MemFile): Buffer {
  const [first] = file.chunks;
  if (first !== undefined && file.chunks.length === 1) return first;
  const joined = Buffer.concat(file.chunks, file.size);
  file.chunks = [joined];
  return joined;
}

/** `[start, stop)` of `content` as copies of at most `READ_CHUNK` bytes. */
function* slices(content: Buffer, start: number, stop: number): Generator<Buffer> {
  for (let at = start; at < stop; at += READ_CHUNK) {
    yield Buffer.from(content.subarray(at, Math.min(at + READ_CHUNK, stop)));
  }
}
