/**
 * The referrers index (OCI distribution spec "Listing Referrers"): for each subject, the
 * descriptors of the manifests in the repository that name it. Written when such a manifest
 * is pushed, removed when it is deleted, read by the referrers API without touching any
 * manifest. Each entry is one small file written atomically, so concurrent pushes of
 * referrers to one subject never lose each other.
 */
import type { StorageDriver } from '../drivers/driver.js';
import { parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import type { ManifestInfo } from '../oci/manifest.js';
import { deleteIfPresent, orNull } from './links.js';
import { referrerPath, referrersPath } from './paths.js';

/** A referrer as listed: an OCI descriptor. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Records `digest` (with `info` from its check) as a referrer of its subject. */
export async function addReferrer(
  driver: StorageDriver,
  name: string,
  digest: Digest,
  size: number,
  info: ManifestInfo,
): Promise<void> {
  if (info.subject === undefined) return;
  const descriptor: ReferrerDescriptor = { mediaType: info.mediaType, digest: digest.value, size };
  if (info.artifactType !== undefined) descriptor.artifactType = info.artifactType;
  if (info.annotations !== undefined) descriptor.annotations = info.annotations;
  const path = referrerPath(name, parseDigest(info.subject), digest);
  await driver.putContent(path, JSON.stringify(descriptor));
}

/** Forgets `digest` as a referrer of `subject`. */
export async function removeReferrer(
  driver: StorageDriver,
  name: string,
  subject: string,
  digest: Digest,
): Promise<void> {
  const parsed = tryParseDigest(subject);
  if (parsed === null) return;
  await deleteIfPresent(driver, referrerPath(name, parsed, digest).replace(/\/descriptor$/, ''));
}

/** The referrers of `subject`, sorted by digest, optionally only of one artifact type. */
export async function listReferrers(
  driver: StorageDriver,
  name: string,
  subject: Digest,
  artifactType: string | null,
): Promise<ReferrerDescriptor[]> {
  const root = referrersPath(name, subject);
  const algorithms = (await orNull(driver.list(root))) ?? [];
  const folders = (
    await Promise.all(algorithms.map(async (dir) => (await orNull(driver.list(dir))) ?? []))
  ).flat();
  const found = await Promise.all(
    folders.map(async (folder) => {
      const bytes = await orNull(driver.getContent(`${folder}/descriptor`));
      return bytes === null ? null : (JSON.parse(bytes.toString()) as ReferrerDescriptor);
    }),
  );
  return found
    .filter((d): d is ReferrerDescriptor => d !== null)
    .filter((d) => artifactType === null || d.artifactType === artifactType)
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}
