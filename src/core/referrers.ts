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
import { childrenOrNone, inBatches } from './listing.js';
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

/** Descriptor files read at once while listing referrers. */
const READ_BATCH = 16;

/**
 * The referrers of `subject`, sorted by digest, optionally only of one artifact type. The
 * folders are listed as they stream and read `READ_BATCH` at a time; the answer itself is
 * whole (the referrers API is not paged).
 */
export async function listReferrers(
  driver: StorageDriver,
  name: string,
  subject: Digest,
  artifactType: string | null,
): Promise<ReferrerDescriptor[]> {
  const found: ReferrerDescriptor[] = [];
  for await (const dir of childrenOrNone(driver, referrersPath(name, subject))) {
    for await (const folders of inBatches(childrenOrNone(driver, dir), READ_BATCH)) {
      const read = await Promise.all(folders.map((folder) => readDescriptor(driver, folder)));
      for (const d of read) {
        if (d !== null && (artifactType === null || d.artifactType === artifactType)) found.push(d);
      }
    }
  }
  return found.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/** The descriptor kept in a referrer's folder, or null when it is gone. */
async function readDescriptor(
  driver: StorageDriver,
  folder: string,
): Promise<ReferrerDescriptor | null> {
  const bytes = await orNull(driver.getContent(`${folder}/descriptor`));
  return bytes === null ? null : (JSON.parse(bytes.toString()) as ReferrerDescriptor);
}
