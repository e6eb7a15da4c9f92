/**
 * Storage middleware (configuration.md, `middleware.storage`): a driver that delegates every
 * operation to the driver it wraps, except the URL a blob read is redirected to.
 */
import type { Readable } from 'node:stream';
import type { ClientIp, FileInfo, FileWriter, StorageDriver } from '../driver.js';

/** Makes the redirect URL of a storage path for a client (its IP, when known). */
export type UrlFor = (
  method: 'GET' | 'HEAD',
  path: string,
  clientIp: ClientIp | undefined,
) => Promise<string | null>;

/** A driver whose `redirectURL` is `urlFor`'s; everything else is `base`'s. */
export class RedirectingDriver implements StorageDriver {
  readonly name: string;
  readonly sharedAcrossThreads: boolean;
  readonly buffersWrites: boolean;
  readonly folderTimes: boolean;

  constructor(
    readonly base: StorageDriver,
    readonly urlFor: UrlFor,
  ) {
    this.name = base.name;
    this.sharedAcrossThreads = base.sharedAcrossThreads;
    this.buffersWrites = base.buffersWrites;
    this.folderTimes = base.folderTimes;
  }

  getContent(path: string): Promise<Buffer> {
    return this.base.getContent(path);
  }

  putContent(path: string, content: Uint8Array | string, durable?: boolean): Promise<void> {
    return this.base.putContent(path, content, durable);
  }

  reader(path: string, start?: number, end?: number): Promise<Readable> {
    return this.base.reader(path, start, end);
  }

  writer(path: string, append: boolean): Promise<FileWriter> {
    return this.base.writer(path, append);
  }

  stat(path: string): Promise<FileInfo> {
    return this.base.stat(path);
  }

  list(path: string): Promise<string[]> {
    return this.base.list(path);
  }

  listFrom(path: string, startAfter?: string): AsyncIterable<string> {
    return this.base.listFrom(path, startAfter);
  }

  move(source: string, dest: string, durable?: boolean): Promise<void> {
    return this.base.move(source, dest, durable);
  }

  delete(path: string): Promise<void> {
    return this.base.delete(path);
  }

  redirectURL(method: 'GET' | 'HEAD', path: string, clientIp?: ClientIp): Promise<string | null> {
    return this.urlFor(method, path, clientIp);
  }
}
