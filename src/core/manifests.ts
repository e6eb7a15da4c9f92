/**
 * Manifests and tags. A manifest's bytes are a blob in the shared store; a repository holds
 * a revision link to it, and a tag is a `current` link to one revision (paths.ts). Bytes are
 * stored exactly as the client sent them (OCI spec: "the exact byte representation").
 * Checking and hashing a manifest happen in the worker pool.
 */
import type { StorageDriver } from '../drivers/driver.js';
import { RegistryError } from '../errors/registry-error.js';
import { parseDigest, tryParseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import type { ManifestInfo } from '../oci/manifest.js';
import { mediaTypes } from '../oci/media-types.js';
import type { ManifestResult } from '../workers/messages.js';
import { failureToError, type WorkerPool } from '../workers/pool.js';
import type { BlobStore } from './blobs.js';
import { deleteIfPresent, orNull, readLink, writeLink } from './links.js';
import {
  checkLayerUrls,
  childrenToCheck,
  defaultManifestPolicy,
  type ManifestPolicy,
} from './manifest-policy.js';
import { addReferrer, removeReferrer } from './referrers.js';
import { TagListCache } from './tag-list-cache.js';
import {
  blobDataPath,
  repositoryPath,
  revisionLinkDir,
  revisionLinkPath,
  tagCurrentLinkPath,
  tagIndexLinkPath,
  tagPath,
  tagsPath,
} from './paths.js';

/** A manifest as served: its bytes and the media type they declare. */
export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
}

/** Manifests by digest: immutable, so safe to keep; bounded by total bytes. */
class ManifestCache {
  readonly #entries = new Map<string, { mediaType: string; bytes: Buffer }>();
  #bytes = 0;

  constructor(readonly limitBytes: number) {}

  get(digest: string): { mediaType: string; bytes: Buffer } | undefined {
    return this.#entries.get(digest);
  }

  set(digest: string, mediaType: string, bytes: Buffer): void {
    if (bytes.byteLength > this.limitBytes / 16 || this.#entries.has(digest)) return;
    while (this.#bytes + bytes.byteLength > this.limitBytes) {
      const [oldest, entry] = this.#entries.entries().next().value ?? [];
      if (oldest === undefined || entry === undefined) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes.byteLength;
    }
    this.#entries.set(digest, { mediaType, bytes });
    this.#bytes += bytes.byteLength;
  }
}

/** The subject digest a stored manifest names, or null. */
function subjectOf(bytes: Buffer): string | null {
  try {
    const body = JSON.parse(bytes.toString()) as { subject?: { digest?: unknown } };
    return typeof body.subject?.digest === 'string' ? body.subject.digest : null;
  } catch {
    return null;
  }
}

/** The media type a stored manifest declares, by its field or its shape. */
function declaredType(bytes: Buffer): string {
  try {
    const body = JSON.parse(bytes.toString()) as Record<string, unknown>;
    if (typeof body['mediaType'] === 'string') return body['mediaType'];
    if (Array.isArray(body['manifests'])) return mediaTypes.ociIndex;
    if (body['schemaVersion'] === 1) {
      return body['signatures'] === undefined
        ? mediaTypes.dockerSchema1
        : mediaTypes.dockerSchema1Signed;
    }
  } catch {
    // Bytes someone else stored that are not JSON: served as OCI, as the client gets them.
  }
  return mediaTypes.ociManifest;
}

/**
 * A schema 1 manifest names its repository and tag: they must be the URL's
 * (api.md: NAME_INVALID, TAG_INVALID "manifest tag did not match URI").
 */
function checkSchema1Claims(
  claims: { name: string; tag: string },
  name: string,
  tag: string | null,
): void {
  if (claims.name !== name)
    throw new RegistryError('NAME_INVALID', { manifest: claims.name, url: name });
  if (tag !== null && claims.tag !== tag)
    throw new RegistryError('TAG_INVALID', { manifest: claims.tag, url: tag });
}

export class ManifestStore {
  readonly #cache = new ManifestCache(64 << 20);
  readonly #tagLists = new TagListCache();

  constructor(
    readonly driver: StorageDriver,
    readonly pool: WorkerPool,
    readonly blobs: BlobStore,
    readonly policy: ManifestPolicy = defaultManifestPolicy,
  ) {}

  /**
   * The digest a reference (tag or digest) names in the repository. Throws
   * `MANIFEST_UNKNOWN` (or `NAME_UNKNOWN` when the repository does not exist).
   */
  async resolve(name: string, reference: string): Promise<Digest> {
    const asDigest = reference.includes(':') ? parseDigest(reference) : null;
    const path = asDigest ? revisionLinkPath(name, asDigest) : tagCurrentLinkPath(name, reference);
    const digest = await readLink(this.driver, path);
    if (digest === null || (asDigest !== null && digest.value !== asDigest.value)) {
      throw await this.#unknown(name, reference);
    }
    // A tag names a manifest of the repository only while its revision link is there (a
    // delete by digest racing a push can leave a tag behind): the reference answers 404
    // then, and its garbage collector keeps only manifests with a revision link.
    if (asDigest === null) {
      const revision = await readLink(this.driver, revisionLinkPath(name, digest));
      if (revision?.value !== digest.value) throw await this.#unknown(name, reference);
    }
    return digest;
  }

  async #unknown(name: string, reference: string): Promise<RegistryError> {
    const repo = await orNull(this.driver.stat(repositoryPath(name)));
    if (repo === null) return new RegistryError('NAME_UNKNOWN', { name });
    return new RegistryError('MANIFEST_UNKNOWN', { name, reference });
  }

  /** The manifest a reference names. Throws like `resolve`. */
  async get(name: string, reference: string): Promise<StoredManifest> {
    const digest = await this.resolve(name, reference);
    const cached = this.#cache.get(digest.value);
    if (cached !== undefined) return { digest, ...cached };
    const bytes = await orNull(this.driver.getContent(blobDataPath(digest)));
    if (bytes === null) throw new RegistryError('MANIFEST_UNKNOWN', { name, reference });
    const mediaType = declaredType(bytes);
    this.#cache.set(digest.value, mediaType, bytes);
    return { digest, mediaType, bytes };
  }

  /**
   * Stores a manifest under a tag or digest reference, plus any extra `tags`. Checks it (in
   * a worker), that a digest reference matches the bytes, and that everything it references
   * is in the repository. Returns its digest and what the check found.
   */
  async put(
    name: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    tags: string[],
  ): Promise<{ digest: Digest; info: ManifestInfo }> {
    const byDigest = reference.includes(':') ? parseDigest(reference) : null;
    const algorithm: DigestAlgorithm = byDigest?.algorithm ?? 'sha256';
    const store = this.driver.sharedAcrossThreads;
    const schema1 = this.policy.schema1;
    const task = { kind: 'manifest' as const, bytes, contentType, algorithm, store, schema1 };
    const result = await this.pool.run<ManifestResult>(this.pool.anyShard(), task);
    if (!result.ok) throw failureToError(result);
    const digest = parseDigest(result.digest);
    if (result.schema1 !== undefined)
      checkSchema1Claims(result.schema1, name, byDigest ? null : reference);
    if (byDigest !== null && byDigest.value !== digest.value) {
      throw new RegistryError('DIGEST_INVALID', {
        expected: byDigest.value,
        computed: digest.value,
      });
    }

    await this.#checkReferences(name, result.info);
    if (!store) await this.driver.putContent(blobDataPath(digest), bytes);
    this.#cache.set(digest.value, result.info.mediaType, bytes);
    await writeLink(this.driver, revisionLinkPath(name, digest), digest);
    await addReferrer(this.driver, name, digest, bytes.byteLength, result.info);
    const allTags = byDigest === null ? [reference, ...tags] : tags;
    for (const tag of allTags) await this.tag(name, tag, digest);
    return { digest, info: result.info };
  }

  async #checkReferences(name: string, info: ManifestInfo): Promise<void> {
    checkLayerUrls(info, this.policy);
    const blobs = await Promise.all(
      info.blobs.map(async (text) =>
        (await this.blobs.find(name, parseDigest(text))) === null ? text : null,
      ),
    );
    const missingBlob = blobs.find((d) => d !== null);
    if (missingBlob != null) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: missingBlob });
    }
    for (const { digest: text } of childrenToCheck(info, this.policy)) {
      const d = parseDigest(text);
      const linked = await readLink(this.driver, revisionLinkPath(name, d));
      if (linked === null) {
        // 400, not the code's usual 404: the request is at fault, not the URL. The OCI spec
        // asks for MANIFEST_BLOB_UNKNOWN for any missing reference; the entry naming the
        // missing manifest comes first, and both are reported.
        throw new RegistryError('MANIFEST_UNKNOWN', { digest: text }, 400).alsoReport(
          'MANIFEST_BLOB_UNKNOWN',
          { digest: text },
        );
      }
    }
  }

  /** Points a tag at a digest: the index link first, then `current`, the visible step. */
  async tag(name: string, tag: string, digest: Digest): Promise<void> {
    this.#tagLists.forget(name);
    await writeLink(this.driver, tagIndexLinkPath(name, tag, digest), digest);
    await writeLink(this.driver, tagCurrentLinkPath(name, tag), digest);
  }

  /**
   * Deletes by digest (the revision and every tag pointing at it) or by tag (the tag only).
   * Throws `MANIFEST_UNKNOWN` when there is nothing to delete.
   */
  async delete(name: string, reference: string): Promise<void> {
    this.#tagLists.forget(name);
    const asDigest = tryParseDigest(reference);
    if (asDigest === null) {
      if (reference.includes(':')) parseDigest(reference);
      if (!(await deleteIfPresent(this.driver, tagPath(name, reference)))) {
        throw await this.#unknown(name, reference);
      }
      return;
    }
    const digest = await this.resolve(name, asDigest.value);
    const subject = subjectOf((await this.get(name, digest.value)).bytes);
    if (subject !== null) await removeReferrer(this.driver, name, subject, digest);
    for (const tag of await this.tags(name)) {
      const current = await readLink(this.driver, tagCurrentLinkPath(name, tag));
      if (current?.value === digest.value) await deleteIfPresent(this.driver, tagPath(name, tag));
    }
    await deleteIfPresent(this.driver, revisionLinkDir(name, digest));
  }

  /**
   * The repository's tags, sorted. Throws `NAME_UNKNOWN` when the repository does not
   * exist; a repository with no tags gives an empty list.
   */
  async tags(name: string): Promise<readonly string[]> {
    const folder = tagsPath(name);
    // With folder times, a list kept from an earlier request is served after one stat.
    let modTime: number | null = null;
    const statAt = Date.now();
    if (this.driver.folderTimes) {
      const info = await orNull(this.driver.stat(folder));
      if (info?.isDir === true) {
        modTime = info.modTime.getTime();
        const kept = this.#tagLists.get(name, modTime);
        if (kept !== undefined) return kept;
      }
    }
    const children = await orNull(this.driver.list(folder));
    if (children === null) {
      const repo = await orNull(this.driver.stat(repositoryPath(name)));
      if (repo === null) throw new RegistryError('NAME_UNKNOWN', { name });
      return [];
    }
    const tags = children.map((path) => path.slice(path.lastIndexOf('/') + 1)).sort();
    if (modTime !== null) this.#tagLists.set(name, modTime, statAt, tags);
    return tags;
  }
}
