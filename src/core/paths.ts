/**
 * Where everything lives in storage. The layout is the reference registry's, byte for byte,
 * so that Berth and the Go registry can serve one another's data:
 *
 * ```
 * /docker/registry/v2/
 *   blobs/<alg>/<first 2 hex>/<hex>/data            the bytes of every blob and manifest,
 *                                                    shared by all repositories
 *   repositories/<name>/
 *     _layers/<alg>/<hex>/link                       "blob is in this repository": the digest
 *     _manifests/revisions/<alg>/<hex>/link          "manifest is in this repository"
 *     _manifests/tags/<tag>/current/link             the digest the tag points to now
 *     _manifests/tags/<tag>/index/<alg>/<hex>/link   every digest the tag has pointed to
 *     _manifests/referrers/<alg>/<hex>/              Berth only: manifests whose subject is
 *         <alg>/<hex>/descriptor                     <alg>:<hex>, each as its descriptor JSON
 *     _uploads/<uuid>/data                           bytes of an upload in progress
 *     _uploads/<uuid>/startedat                      RFC 3339 time the upload began
 * ```
 *
 * A link file holds the digest string and nothing else. Content is shared and addressed by
 * digest; repositories only hold links, which is what makes cross-repository mounts a
 * single small write and deletion of a repository's blob a removal of its link. Names and
 * digests are validated before they reach here, so no path component can escape the tree.
 */
import type { Digest } from '../oci/digest.js';

const root = '/docker/registry/v2';

/** The folder of all repositories. */
export const repositoriesRoot = `${root}/repositories`;

/** The data file of a blob (or of a manifest's bytes). */
export function blobDataPath(d: Digest): string {
  return `${root}/blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}/data`;
}

/** The folder of one repository. */
export function repositoryPath(name: string): string {
  return `${repositoriesRoot}/${name}`;
}

/** The folder holding a repository's link to a blob. */
export function layerLinkDir(name: string, d: Digest): string {
  return `${repositoriesRoot}/${name}/_layers/${d.algorithm}/${d.hex}`;
}

/** The link that puts a blob in a repository. */
export function layerLinkPath(name: string, d: Digest): string {
  return `${layerLinkDir(name, d)}/link`;
}

/** The folder holding a repository's link to a manifest revision. */
export function revisionLinkDir(name: string, d: Digest): string {
  return `${repositoriesRoot}/${name}/_manifests/revisions/${d.algorithm}/${d.hex}`;
}

/** The link that puts a manifest in a repository. */
export function revisionLinkPath(name: string, d: Digest): string {
  return `${revisionLinkDir(name, d)}/link`;
}

/** The folder of all of a repository's tags. */
export function tagsPath(name: string): string {
  return `${repositoriesRoot}/${name}/_manifests/tags`;
}

/** The folder of one tag. */
export function tagPath(name: string, tag: string): string {
  return `${tagsPath(name)}/${tag}`;
}

/** The link holding the digest a tag points to now. */
export function tagCurrentLinkPath(name: string, tag: string): string {
  return `${tagPath(name, tag)}/current/link`;
}

/** The link recording that a tag has pointed to a digest. */
export function tagIndexLinkPath(name: string, tag: string, d: Digest): string {
  return `${tagPath(name, tag)}/index/${d.algorithm}/${d.hex}/link`;
}

/**
 * The folder listing the referrers of a subject (OCI "Listing Referrers"). The reference
 * registry keeps no such index and ignores the folder; Berth keeps it so that a referrers
 * query reads one folder instead of every manifest.
 */
export function referrersPath(name: string, subject: Digest): string {
  return `${repositoriesRoot}/${name}/_manifests/referrers/${subject.algorithm}/${subject.hex}`;
}

/** The descriptor of one referrer of a subject. */
export function referrerPath(name: string, subject: Digest, referrer: Digest): string {
  return `${referrersPath(name, subject)}/${referrer.algorithm}/${referrer.hex}/descriptor`;
}

/** The folder of one upload in progress. */
export function uploadPath(name: string, uuid: string): string {
  return `${repositoriesRoot}/${name}/_uploads/${uuid}`;
}

/** The bytes of an upload in progress. */
export function uploadDataPath(name: string, uuid: string): string {
  return `${uploadPath(name, uuid)}/data`;
}

/** The start time of an upload in progress. */
export function uploadStartedAtPath(name: string, uuid: string): string {
  return `${uploadPath(name, uuid)}/startedat`;
}
