/**
 * The blob descriptor cache (`storage.cache.blobdescriptor`): what the registry knows about
 * blobs without asking storage. Two kinds of facts, as in the reference registry:
 *
 * - a blob's descriptor (its size, perhaps a media type), by digest. Content never changes
 *   under a digest, so a descriptor once read stays true while the blob's data exists;
 * - a repository's link to a blob ("this repository has this blob"). Links come and go
 *   (a `DELETE` removes one), so they are the part that can go stale.
 *
 * A cache is an accelerator, never a source of truth: storage decides. Every method is
 * best effort and never rejects; a cache that cannot answer (Redis unreachable) answers
 * null, and a write it cannot make is dropped. The caller then reads storage, so an
 * unavailable cache makes the registry slower, never wrong.
 */

/** What the cache keeps about a blob's data. */
export interface BlobDescriptor {
  /** Length of the blob's data in bytes. */
  size: number;
  /** Media type when one was recorded; absent when unknown. */
  mediaType?: string;
}

/**
 * A blob descriptor cache shared by the stores of one registry process (and, for Redis, by
 * every replica that uses the same Redis).
 *
 * Contract, for every implementation:
 *
 * - No method rejects. Failures become "unknown" (null) for reads and no-ops for writes.
 * - Ordering: each write starts before its call returns control (no await comes before it),
 *   so that two calls made in one order reach the cache in that order. `BlobStore` relies
 *   on this to keep a fill that read storage before a delete from landing after it.
 * - `setLink` is called only after the link was seen in, or written to, storage; and
 *   `deleteLink` only after the link was removed from storage. After `deleteLink(r, d)`,
 *   `hasLink(r, d)` never answers true again on the strength of a `setLink` call that was
 *   made before it. A shared cache (Redis) extends this to calls from other replicas made
 *   within its tombstone window (see redis.ts).
 * - A link dropped out of band (by hand in storage, or by a replica with its own in-memory
 *   cache) is not seen: an in-memory cache may keep answering true for it until evicted.
 *   That is the reference registry's behaviour too; use a shared (Redis) cache, or none,
 *   with more than one replica that deletes.
 */
export interface BlobDescriptorCache {
  /** The descriptor of a blob's data, or null when not cached or the cache cannot answer. */
  get(digest: string): Promise<BlobDescriptor | null>;

  /** Records a blob's descriptor, read from or just written to storage. */
  set(digest: string, descriptor: BlobDescriptor): Promise<void>;

  /** Forgets a blob's descriptor (its data is gone). */
  delete(digest: string): Promise<void>;

  /**
   * Whether `repo` links to the blob: true when the cache holds the link, false when it does
   * not (a miss: storage may still have it), null when the cache cannot answer now or keeps
   * no links at all. Only true may be acted on without reading storage.
   */
  hasLink(repo: string, digest: string): Promise<boolean | null>;

  /** Records that `repo` links to the blob (see the contract above for when to call it). */
  setLink(repo: string, digest: string): Promise<void>;

  /** Forgets `repo`'s link to the blob, after it was removed from storage. */
  deleteLink(repo: string, digest: string): Promise<void>;

  /** Releases connections and timers. The cache must not be used afterwards. */
  close(): Promise<void>;
}
