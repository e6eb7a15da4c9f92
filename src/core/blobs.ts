/**
 * Blobs as repositories see them: a blob is in a repository when the repository links to it
 * and its data exists. Data is shared; deleting a repository's blob removes only its link.
 */
import type { Readable } from 'node:stream';
import type { ClientIp, StorageDriver } from '../drivers/driver.js';
import { RegistryError } from '../errors/registry-error.js';
import type { Digest } from '../oci/digest.js';
import type { BlobDescriptorCache } from './cache/cache.js';
import { sizeOnlyCache } from './cache/memory.js';
import { deleteIfPresent, orNull, readLink, writeLink } from './links.js';
import { blobDataPath, layerLinkDir, layerLinkPath } from './paths.js';

/**
 * The blobs of every repository, over one storage driver and one blob descriptor cache.
 *
 * Storage is the truth; the cache (core/cache) only saves reads. Lookups ask it first and
 * fill it from storage; writes update it after storage. A deleted link is never served
 * from the cache by this process afterwards: a fill that read storage before a delete is
 * dropped if the delete happened meanwhile (`#unlinks`), and the cache refuses link writes
 * that predate a delete (see its contract). Across replicas that holds with a shared
 * (Redis) cache; with `inmemory`, another replica's delete is not seen here until the entry
 * is evicted, as in the reference registry. Without a cache, only sizes are kept and every
 * lookup reads the link.
 */
export class BlobStore {
  readonly #cache: BlobDescriptorCache;
  /**
   * Counts link deletes. A fill snapshots it before reading storage and is dropped if it
   * moved: the read may have seen a link that the delete has since removed from the cache.
   */
  #unlinks = 0;

  constructor(
    readonly driver: StorageDriver,
    cache: BlobDescriptorCache = sizeOnlyCache(),
  ) {
    this.#cache = cache;
  }

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
    const cached = await this.#cache.hasLink(name, digest.value);
    if (cached === true) return this.dataSize(digest);

    const unlinks = this.#unlinks;
    const linked = await readLink(this.driver, layerLinkPath(name, digest));
    if (linked === null || linked.value !== digest.value) return null;
    const size = await this.dataSize(digest);
    // A cache that cannot answer (null) would not take the write either.
    if (size !== null && cached === false) await this.#fillLink(name, digest, unlinks);
    return size;
  }

  /** The size of a blob's data in the shared store, or null when there is none. */
  async dataSize(digest: Digest): Promise<number | null> {
    const cached = await this.#cache.get(digest.value);
    if (cached !== null) return cached.size;
    const info = await orNull(this.driver.stat(blobDataPath(digest)));
    if (info === null || info.isDir) return null;
    await this.#cache.set(digest.value, { size: info.size });
    return info.size;
  }

  /** A stream of `[start, end)` of a blob's data. */
  async open(digest: Digest, start: number, end: number): Promise<Readable> {
    return this.driver.reader(blobDataPath(digest), start, end);
  }

  /**
   * A URL the client may fetch the blob from instead, when the driver offers one. `clientIp`
   * is the requesting client's address, for middleware that answers by it.
   */
  async redirectURL(
    method: 'GET' | 'HEAD',
    digest: Digest,
    clientIp?: ClientIp,
  ): Promise<string | null> {
    return this.driver.redirectURL(method, blobDataPath(digest), clientIp);
  }

  /** Puts a blob whose data exists into a repository. */
  async link(name: string, digest: Digest): Promise<void> {
    const unlinks = this.#unlinks;
    await writeLink(this.driver, layerLinkPath(name, digest), digest);
    await this.#fillLink(name, digest, unlinks);
  }

  /**
   * Makes uploaded bytes the data of a blob: one atomic move, then the link. A blob already
   * stored with the same size is kept as it is (as the reference does): its bytes were
   * checked against the digest when they were stored, and replacing them could only lose.
   * On a file system the moved file's size is checked again: a stray append from another
   * process that slipped in is taken back out of sight at once.
   */
  async commit(name: string, digest: Digest, uploadData: string, size: number): Promise<void> {
    const target = blobDataPath(digest);
    const stored = await orNull(this.driver.stat(target));
    if (stored === null || stored.size !== size) {
      await this.driver.move(uploadData, target);
      if (!this.driver.buffersWrites && (await this.driver.stat(target)).size !== size) {
        await this.driver.delete(target);
        throw new RegistryError('BLOB_UPLOAD_INVALID', 'the upload changed while it completed');
      }
    }
    await this.#cache.set(digest.value, { size });
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

  /**
   * Removes a blob from a repository (its link), in storage and then in the cache. Throws
   * `BLOB_UNKNOWN` when storage had no such link (the cache is cleared all the same).
   */
  async delete(name: string, digest: Digest): Promise<void> {
    // The blob is the repository's only while its link file exists, as GET and HEAD see it:
    // a folder left without one (a push killed before its link was written) is removed
    // all the same, but answered as unknown.
    const linked = (await orNull(this.driver.stat(layerLinkPath(name, digest)))) !== null;
    await deleteIfPresent(this.driver, layerLinkDir(name, digest));
    // In one step with the cache write, so no fill can slip between them (see #fillLink).
    this.#unlinks++;
    await this.#cache.deleteLink(name, digest.value);
    if (!linked) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.value });
  }

  /**
   * Caches a link seen in or written to storage, unless a delete happened since `unlinks`
   * was read: the link may be the one that delete removed. The check and the start of the
   * cache write are one synchronous step (the cache's ordering contract). Awaited, so that
   * once a request is answered the other replicas find what it learnt in a shared cache;
   * a cache that is down answers at once, a hung one within its timeout.
   */
  async #fillLink(name: string, digest: Digest, unlinks: number): Promise<void> {
    if (this.#unlinks === unlinks) await this.#cache.setLink(name, digest.value);
  }
}
