/**
 * `GET /v2/<name>/referrers/<digest>` (OCI distribution spec "Listing Referrers"): an image
 * index of the manifests whose `subject` is the digest, filtered by `artifactType` when
 * asked. Never 404: an unknown subject or repository has an empty list.
 */
import { parseDigest } from '../oci/digest.js';
import { mediaTypes } from '../oci/media-types.js';
import type { ApiContext } from './context.js';
import type { ApiReply, ApiRequest } from './types.js';

export async function listReferrersOf(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  reference: string,
): Promise<ApiReply> {
  const subject = parseDigest(decodeURIComponent(reference));
  const filter = req.query.get('artifactType');
  const artifactType = filter === null || filter === '' ? null : filter;
  const manifests = await ctx.registry.referrers(name, subject, artifactType);
  const headers: Record<string, string> = { 'Content-Type': mediaTypes.ociIndex };
  if (artifactType !== null) headers['OCI-Filters-Applied'] = 'artifactType';
  const body = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests });
  return { status: 200, headers, body, logFields: { repo: name, digest: subject.value } };
}
