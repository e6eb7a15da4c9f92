/**
 * The registry core: the stores, built once over one driver and one worker pool. The API
 * layer reaches storage only through this.
 */
import type { StorageDriver } from '../drivers/driver.js';
import type { WorkerPool } from '../workers/pool.js';
import { BlobStore } from './blobs.js';
import type { BlobDescriptorCache } from './cache/cache.js';
import { repositoryNames } from './catalog.js';
import type { Digest } from '../oci/digest.js';
import { defaultManifestPolicy, type ManifestPolicy } from './manifest-policy.js';
import { ManifestStore } from './manifests.js';
import { listReferrers, type ReferrerDescriptor } from './referrers.js';
import { UploadStateSigner } from './upload-state.js';
import { UploadStore } from './uploads.js';

/** Optional parts of a {@link Registry}. */
export interface RegistryOptions {
  /**
   * The blob descriptor cache (`storage.cache`, see core/cache/factory.ts); the caller owns
   * it and closes it. Default: blob sizes only, kept in memory.
   */
  blobCache?: BlobDescriptorCache;
}

export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly manifests: ManifestStore;
  readonly uploadState: UploadStateSigner;

  constructor(
    readonly driver: StorageDriver,
    readonly pool: WorkerPool,
    secret: string,
    policy: ManifestPolicy = defaultManifestPolicy,
    options: RegistryOptions = {},
  ) {
    this.blobs = new BlobStore(driver, options.blobCache);
    this.uploads = new UploadStore(driver, pool, this.blobs);
    this.manifests = new ManifestStore(driver, pool, this.blobs, policy);
    this.uploadState = new UploadStateSigner(secret);
  }

  /** The referrers of a subject in a repository (see referrers.ts). */
  referrers(
    name: string,
    subject: Digest,
    artifactType: string | null,
  ): Promise<ReferrerDescriptor[]> {
    return listReferrers(this.driver, name, subject, artifactType);
  }

  /**
   * Up to `limit` repository names after `last` (from the first when null), sorted. Reads
   * storage only as far as the last of them.
   */
  async repositories(last: string | null, limit: number): Promise<string[]> {
    const names: string[] = [];
    if (limit <= 0) return names;
    for await (const name of repositoryNames(this.driver, undefined, last)) {
      names.push(name);
      if (names.length >= limit) break;
    }
    return names;
  }
}
