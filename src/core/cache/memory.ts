/**
 * The in-memory blob descriptor cache (`blobdescriptor: inmemory`): one bounded LRU map per
 * process holding descriptors and links together, as the reference's does (its size bounds
 * both kinds of entry).
 */
import type { BlobDescriptor, BlobDescriptorCache } from './cache.js';

/** The reference's default `blobdescriptorsize`. */
export const DEFAULT_MEMORY_CACHE_SIZE = 10_000;

/** Sizes kept when no cache is configured: what Berth always kept, links excluded. */
const SIZE_ONLY_ENTRIES = 100_000;

export interface MemoryCacheOptions {
  /** Most entries kept (descriptors plus links); 0 means no bound. */
  size: number;
  /**
   * Whether links are kept. Without them the cache holds sizes only, `hasLink` always
   * answers null and every lookup reads the link from storage: what Berth does when no
   * cache is configured (sizes of immutable blobs are safe to keep; links are not shared
   * between replicas).
   */
  links: boolean;
}

/**
 * A bounded least-recently-used map of descriptors and links. Reads refresh an entry; a write
 * past the bound evicts the least recently used one. Never fails.
 */
export class MemoryBlobDescriptorCache implements BlobDescriptorCache {
  /** Descriptor entries are keyed by digest, links by `repo@digest` ('@' is in no digest). */
  readonly #entries = new Map<string, BlobDescriptor | true>();
  readonly #limit: number;
  readonly #links: boolean;

  constructor(options: MemoryCacheOptions) {
    this.#limit = options.size > 0 ? options.size : Number.POSITIVE_INFINITY;
    this.#links = options.links;
  }

  /** How many entries are held now (descriptors and links). */
  get entries(): number {
    return this.#entries.size;
  }

  async get(digest: string): Promise<BlobDescriptor | null> {
    const entry = this.#touch(digest);
    return entry === undefined || entry === true ? null : { ...entry };
  }

  async set(digest: string, descriptor: BlobDescriptor): Promise<void> {
    this.#put(digest, { ...descriptor });
  }

  async delete(digest: string): Promise<void> {
    this.#entries.delete(digest);
  }

  async hasLink(repo: string, digest: string): Promise<boolean | null> {
    if (!this.#links) return null;
    return this.#touch(`${repo}@${digest}`) === true;
  }

  async setLink(repo: string, digest: string): Promise<void> {
    if (this.#links) this.#put(`${repo}@${digest}`, true);
  }

  async deleteLink(repo: string, digest: string): Promise<void> {
    this.#entries.delete(`${repo}@${digest}`);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** Reads an entry and makes it the most recently used (a Map iterates in insertion order). */
  #touch(key: string): BlobDescriptor | true | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #put(key: string, entry: BlobDescriptor | true): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, entry);
  }
}

/** The cache that keeps blob sizes only: the registry without `storage.cache`. */
export function sizeOnlyCache(): BlobDescriptorCache {
  return new MemoryBlobDescriptorCache({ size: SIZE_ONLY_ENTRIES, links: false });
}
