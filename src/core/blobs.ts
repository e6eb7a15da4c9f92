/**
 * Blobs as repositories see them: a blob is in a repository when the repository links to it
 * and its data exists. Data is shared; deleting a repository's blob removes only its link.
 */
import type { Readable } from 'node:stream';
import type { StorageDriver } from '../drivers/driver.js';
import { RegistryError } from '../errors/registry-error.js';
import type { Digest } from '../oci/digest.js';
import { deleteIfPresent, orNull, readLink, writeLink } from './links.js';
import { blobDataPath, layerLinkDir, layerLinkPath } from './paths.js';

/** Sizes of blobs by digest: content never changes, so a size once read stays true. */
class SizeCache {
  readonly #sizes = new Map<string, number>();

  constructor(readonly limit: number) {}

  get(digest: string): number | undefined {
    return this.#sizes.get(digest);
  }

  set(digest: string, size: number): void {
    if (this.#sizes.size >= this.limit) {
      const oldest = this.#sizes.keys().next().value;
      if (oldest !== undefined) this.#sizes.delete(oldest);
    }
    this.#sizes.set(digest, size);
  }

  delete(digest: string): void {
    this.#sizes.delete(digest);
  }
}

export class BlobStore {
  readonly #sizes = new SizeCache(100_000);

  constructor(readonly driver: StorageDriver) {}

  /**
   * The size of a blob in the repository. Throws `BLOB_UNKNOWN` when the repository has no
   * link to it or its data is gone.
   */
  async stat(name: string, digest: Digest): Promise<number> {
    const size = await this.find(name, digest);
    if (size === null) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.value });
    return size;
  }

  /** Like `stat`, but null when the blob is not in the repository. */
  async find(name: string, digest: Digest): Promise<number | null> {
    const linked = await readLink(this.driver, layerLinkPath(name, digest));
    if (linked === null || linked.value !== digest.value) return null;
    return this.dataSize(digest);
  }

  /** The size of a blob's data in the shared store, or null when there is none. */
  async dataSize(digest: Digest): Promise<number | null> {
    const cached = this.#sizes.get(digest.value);
    if (cached !== undefined) return cached;
    const info = await orNull(this.driver.stat(blobDataPath(digest)));
    if (info === null || info.isDir) return null;
    this.#sizes.set(digest.value, info.size);
    return info.size;
  }

  /** A stream of `[start, end)` of a blob's data. */
  async open(digest: Digest, start: number, end: number): Promise<Readable> {
    return this.driver.reader(blobDataPath(digest), start, end);
  }

  /** A URL the client may fetch the blob from instead, when the driver offers one. */
  async redirectURL(method: 'GET' | 'HEAD', digest: Digest): Promise<string | null> {
    return this.driver.redirectURL(method, blobDataPath(digest));
  }

  /** Puts a blob whose data exists into a repository. */
  async link(name: string, digest: Digest): Promise<void> {
    await writeLink(this.driver, layerLinkPath(name, digest), digest);
  }

  /** Makes uploaded bytes the data of a blob: one atomic move, then the link. */
  async commit(name: string, digest: Digest, uploadData: string, size: number): Promise<void> {
    await this.driver.move(uploadData, blobDataPath(digest));
    this.#sizes.set(digest.value, size);
    await this.link(name, digest);
  }

  /**
   * Links a blob of repository `from` into `name` (cross-repository mount). Returns the
   * blob's size, or null when `from` does not have it.
   */
  async mount(name: string, from: string, digest: Digest): Promise<number | null> {
    const size = await this.find(from, digest);
    if (size === null) return null;
    await this.link(name, digest);
    return size;
  }

  /** Removes a blob from a repository (its link). Throws `BLOB_UNKNOWN`. */
  async delete(name: string, digest: Digest): Promise<void> {
    if (!(await deleteIfPresent(this.driver, layerLinkDir(name, digest)))) {
      throw new RegistryError('BLOB_UNKNOWN', { digest: digest.value });
    }
  }
}
