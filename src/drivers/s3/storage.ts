/**
 * The operations of the s3 driver on the AWS SDK. `S3Driver` (index.ts) loads this module on
 * first use, so that a registry on another driver never loads the SDK. Paths reaching here
 * are validated; each operation maps its S3 errors to the driver contract's.
 */
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput, ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FileInfo, FileWriter } from '../driver.js';
import { InvalidOffsetError, PathNotFoundError } from '../driver.js';
import { childPath } from '../paths.js';
import { createS3Client, driverError, isInvalidRange, NAME, writeHeaders } from './client.js';
import { copySource, KeyMap } from './keys.js';
import {
  abortUpload,
  completeUpload,
  copyIntoParts,
  createUpload,
  listUploads,
  type Bucket,
} from './multipart.js';
import { deleteObject, getObjectBytes, headObject } from './objects.js';
import type { S3DriverParams } from './params.js';
import { openWriter, type S3FileWriter } from './writer.js';

/** How long a redirect URL stays valid: the reference's 20 minutes. */
const PRESIGN_SECONDS = 20 * 60;
/** Keys per ListObjectsV2 page and per DeleteObjects request: S3's maximum for both. */
const PAGE = 1000;

/** The s3 driver's operations on one bucket. */
export class S3Storage {
  readonly #params: S3DriverParams;
  readonly #client: S3Client;
  readonly #bucket: Bucket;
  readonly #keys: KeyMap;
  /** Writers open in this driver instance, by path, so that `stat` sees their bytes. */
  readonly #writers = new Map<string, S3FileWriter>();

  constructor(params: S3DriverParams) {
    this.#params = params;
    this.#client = createS3Client(params);
    this.#bucket = { client: this.#client, name: params.bucket, headers: writeHeaders(params) };
    this.#keys = new KeyMap(params.rootdirectory);
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      return await getObjectBytes(this.#bucket, this.#keys.key(path));
    } catch (err) {
      throw driverError(err, 'getContent', path);
    }
  }

  /** One PutObject, which S3 applies atomically. */
  async putContent(path: string, content: Uint8Array | string): Promise<void> {
    const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket.name,
          Key: this.#keys.key(path),
          Body: body,
          ContentLength: body.byteLength,
          ...this.#bucket.headers,
        }),
      );
    } catch (err) {
      throw driverError(err, 'putContent', path);
    }
  }

  /**
   * A ranged GET. S3 answers 416 for a range starting at or past the end (even at the end of
   * an empty object), so a 416 is told apart with a HEAD: at the end is an empty stream,
   * past it an `InvalidOffsetError`. The whole object is asked for without a Range header.
   */
  async reader(path: string, start: number, end: number | undefined): Promise<Readable> {
    const key = this.#keys.key(path);
    try {
      if (end === start) return await this.#emptyAt(key, path, start);
      const range =
        start === 0 && end === undefined
          ? undefined
          : `bytes=${start}-${end === undefined ? '' : end - 1}`;
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket.name, Key: key, Range: range }),
      );
      if (out.Body instanceof Readable) return out.Body;
      throw new Error('the S3 response body is not a Node stream');
    } catch (err) {
      if (isInvalidRange(err)) {
        return await this.#emptyAt(key, path, start).catch((e: unknown) => {
          throw driverError(e, 'reader', path);
        });
      }
      throw driverError(err, 'reader', path);
    }
  }

  /** An empty stream for a read at `offset` of an object, which must exist and reach it. */
  async #emptyAt(key: string, path: string, offset: number): Promise<Readable> {
    const head = await headObject(this.#bucket, key);
    if (head === null) throw new PathNotFoundError(path, NAME);
    if (offset > head.size) throw new InvalidOffsetError(path, offset, NAME);
    return Readable.from([], { objectMode: false });
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    const target = {
      bucket: this.#bucket,
      path,
      key: this.#keys.key(path),
      chunkSize: this.#params.chunksize,
      copyChunkSize: this.#params.multipartcopychunksize,
      copyConcurrency: this.#params.multipartcopymaxconcurrency,
      onDone: (writer: S3FileWriter): void => {
        if (this.#writers.get(path) === writer) this.#writers.delete(path);
      },
    };
    try {
      const writer = await openWriter(target, append);
      this.#writers.set(path, writer);
      return writer;
    } catch (err) {
      throw driverError(err, 'writer', path);
    }
  }

  /**
   * A writer open in this instance reports its size (its buffered bytes included); else a
   * HEAD finds a file, and a one-key listing of `<key>/` a directory, dated by that key.
   */
  async stat(path: string): Promise<FileInfo> {
    if (path === '/') return { path, size: 0, modTime: new Date(0), isDir: true };
    const open = this.#writers.get(path);
    if (open !== undefined) return { path, size: open.size, modTime: open.modTime, isDir: false };
    try {
      const head = await headObject(this.#bucket, this.#keys.key(path));
      if (head !== null) return { path, size: head.size, modTime: head.modTime, isDir: false };
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket.name,
          Prefix: this.#keys.dirPrefix(path),
          MaxKeys: 1,
        }),
      );
      const first = page.Contents?.[0];
      if (first === undefined) throw new PathNotFoundError(path, NAME);
      return { path, size: 0, modTime: first.LastModified ?? new Date(0), isDir: true };
    } catch (err) {
      throw driverError(err, 'stat', path);
    }
  }

  /** Files and common prefixes one level below `path`, page by page. */
  async list(path: string): Promise<string[]> {
    const children: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket.name,
            Prefix: this.#keys.dirPrefix(path),
            Delimiter: '/',
            MaxKeys: PAGE,
            ContinuationToken: token,
          }),
        );
        for (const { Key } of page.Contents ?? []) {
          if (Key !== undefined) children.push(this.#keys.path(Key));
        }
        for (const { Prefix } of page.CommonPrefixes ?? []) {
          if (Prefix !== undefined) children.push(this.#keys.path(Prefix));
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw driverError(err, 'list', path);
    }
    // S3 has no empty directories: nothing below the path means there is no such directory.
    if (children.length === 0 && path !== '/') throw new PathNotFoundError(path, NAME);
    return children;
  }

  /**
   * Children in name order, one ListObjectsV2 page (`Delimiter: '/'`, at most 1000 entries)
   * at a time: that page is the memory bound. S3 orders a page by key, and a folder's key is
   * its name followed by `/`, so a folder `a` comes after the files and folders named `a-b`
   * or `a.b` (`-` and `.` sort before `/`) although its name comes before theirs. Such a
   * folder is yielded ahead of them: the page shows whether it exists when the page reaches
   * `a/`; only at a page's end does a one-key listing of `a/` ask instead.
   */
  async *listFrom(path: string, startAfter: string | undefined): AsyncGenerator<string> {
    const prefix = this.#keys.dirPrefix(path);
    // `startAfter` and every name yielded so far sort at or before `last`.
    let last = startAfter ?? '';
    let found = false;
    let token: string | undefined;
    do {
      const page = await this.#listPage(path, {
        Prefix: prefix,
        Delimiter: '/',
        MaxKeys: PAGE,
        StartAfter: token === undefined && last !== '' ? prefix + last : undefined,
        ContinuationToken: token,
      });
      const { entries, folders, end } = pageEntries(page, prefix);
      found ||= entries.length > 0;
      for (const name of entries) {
        for (let cut = 1; cut < name.length; cut++) {
          if (name.charCodeAt(cut) >= SLASH) continue;
          const folder = name.slice(0, cut);
          if (folder <= last) continue;
          const folderKey = `${prefix}${folder}/`;
          const exists =
            end === null || folderKey <= end
              ? folders.has(folder)
              : await this.#hasKeysUnder(path, folderKey);
          last = folder;
          if (exists) yield childPath(path, folder);
        }
        if (name <= last) continue;
        last = name;
        yield childPath(path, name);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // S3 has no empty directories: nothing below the path means there is no such directory.
    if (
      !found &&
      path !== '/' &&
      (startAfter === undefined || !(await this.#hasKeysUnder(path, prefix)))
    ) {
      throw new PathNotFoundError(path, NAME);
    }
  }

  /** One ListObjectsV2 request of the bucket; errors are mapped for `path`. */
  async #listPage(
    path: string,
    input: Omit<ConstructorParameters<typeof ListObjectsV2Command>[0], 'Bucket'>,
  ): Promise<ListObjectsV2CommandOutput> {
    try {
      return await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket.name, ...input }),
      );
    } catch (err) {
      throw driverError(err, 'listFrom', path);
    }
  }

  /** Whether any object's key starts with `prefix`: a one-key listing. */
  async #hasKeysUnder(path: string, prefix: string): Promise<boolean> {
    const page = await this.#listPage(path, { Prefix: prefix, MaxKeys: 1 });
    return (page.Contents?.length ?? 0) > 0;
  }

  /**
   * A server-side copy, then the source's deletion. S3 has no rename: the destination
   * appears atomically, but for a moment both exist. Objects above `multipartcopythreshold
   * size` are copied in parts, in parallel (single copies stop at 5 GiB anyway).
   */
  async move(source: string, dest: string): Promise<void> {
    const from = this.#keys.key(source);
    const to = this.#keys.key(dest);
    try {
      const head = await headObject(this.#bucket, from);
      if (head === null) throw new PathNotFoundError(source, NAME);
      // Copying an object onto itself is refused by S3, and deleting the "source" would lose it.
      if (from === to) return;
      if (head.size === 0 || head.size <= this.#params.multipartcopythresholdsize) {
        await this.#client.send(
          new CopyObjectCommand({
            Bucket: this.#bucket.name,
            Key: to,
            CopySource: copySource(this.#bucket.name, from),
            ...this.#bucket.headers,
          }),
        );
      } else {
        await this.#multipartCopy(from, to, head.size);
      }
      await deleteObject(this.#bucket, from);
    } catch (err) {
      throw driverError(err, 'move', source);
    }
  }

  async #multipartCopy(from: string, to: string, size: number): Promise<void> {
    const uploadId = await createUpload(this.#bucket, to);
    try {
      const parts = await copyIntoParts(
        this.#bucket,
        { key: from, size },
        { key: to, uploadId, firstPart: 1 },
        this.#params.multipartcopychunksize,
        this.#params.multipartcopymaxconcurrency,
      );
      await completeUpload(this.#bucket, to, uploadId, parts);
    } catch (err) {
      await abortUpload(this.#bucket, to, uploadId).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Deletes the object at `path` and every object below it, 1000 keys per request as they
   * are listed, and aborts the uploads in progress there (a cancelled upload would otherwise
   * keep its parts, and their cost, forever). A path with none of these is not found.
   */
  async delete(path: string): Promise<void> {
    const key = this.#keys.key(path);
    const below = `${key}/`;
    try {
      const [self, tree, uploads] = await Promise.all([
        headObject(this.#bucket, key),
        this.#deleteBelow(below),
        this.#abortUploads(key, (k) => k === key || k.startsWith(below)),
      ]);
      if (self !== null) await deleteObject(this.#bucket, key);
      if (self === null && tree === 0 && uploads === 0) throw new PathNotFoundError(path, NAME);
    } catch (err) {
      throw driverError(err, 'delete', path);
    }
  }

  /** Deletes every object whose key starts with `prefix`; returns how many there were. */
  async #deleteBelow(prefix: string): Promise<number> {
    let count = 0;
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket.name,
          Prefix: prefix,
          MaxKeys: PAGE,
          ContinuationToken: token,
        }),
      );
      const batch: ObjectIdentifier[] = [];
      for (const { Key } of page.Contents ?? []) if (Key !== undefined) batch.push({ Key });
      if (batch.length > 0) {
        const out = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.#bucket.name,
            Delete: { Objects: batch, Quiet: true },
          }),
        );
        const failed = out.Errors?.[0];
        if (failed !== undefined) {
          throw new Error(`DeleteObjects refused ${failed.Key ?? '?'}: ${failed.Code ?? '?'}`);
        }
        count += batch.length;
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return count;
  }

  /** Aborts the uploads in progress whose key starts with `prefix` and passes `wanted`. */
  async #abortUploads(prefix: string, wanted: (key: string) => boolean): Promise<number> {
    let count = 0;
    for await (const upload of listUploads(this.#bucket, prefix, wanted)) {
      await abortUpload(this.#bucket, upload.key, upload.uploadId);
      count++;
    }
    return count;
  }

  /** A presigned GET or HEAD of the object, valid for 20 minutes; existence is not checked. */
  async redirectURL(method: 'GET' | 'HEAD', path: string): Promise<string> {
    const input = { Bucket: this.#bucket.name, Key: this.#keys.key(path) };
    const command = method === 'GET' ? new GetObjectCommand(input) : new HeadObjectCommand(input);
    try {
      return await getSignedUrl(this.#client, command, { expiresIn: PRESIGN_SECONDS });
    } catch (err) {
      throw driverError(err, 'redirectURL', path);
    }
  }
}

/** The code of `/`: names holding a character below it sort before a folder's key. */
const SLASH = 0x2f;

/** What `listFrom` reads of one page of a listing with `Delimiter: '/'`. */
interface PageEntries {
  /** Names of the files and folders of the page, in the page's (key) order. */
  entries: string[];
  /** Names of the page's folders. */
  folders: Set<string>;
  /** The page's last key or folder key, or null when no page follows. */
  end: string | null;
}

/**
 * The names below `prefix` of a page, files and folders merged in key order (S3 returns
 * them as two sorted lists). A key equal to the prefix itself, a folder marker some tools
 * create, names nothing and is left out.
 */
function pageEntries(page: ListObjectsV2CommandOutput, prefix: string): PageEntries {
  const keys: string[] = [];
  for (const { Key } of page.Contents ?? []) if (Key !== undefined) keys.push(Key);
  const folderKeys: string[] = [];
  for (const { Prefix } of page.CommonPrefixes ?? [])
    if (Prefix !== undefined) folderKeys.push(Prefix);
  const entries: string[] = [];
  const folders = new Set<string>();
  let k = 0;
  let f = 0;
  let end = '';
  while (k < keys.length || f < folderKeys.length) {
    const key = keys[k];
    const folderKey = folderKeys[f];
    if (folderKey === undefined || (key !== undefined && key < folderKey)) {
      k++;
      end = key ?? end;
      if (key !== undefined && key.length > prefix.length) entries.push(key.slice(prefix.length));
    } else {
      f++;
      end = folderKey;
      const name = folderKey.slice(prefix.length, -1);
      if (name !== '') {
        entries.push(name);
        folders.add(name);
      }
    }
  }
  return { entries, folders, end: page.IsTruncated === true ? end : null };
}
