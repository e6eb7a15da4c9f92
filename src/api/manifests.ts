/**
 * `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>` (OCI spec "Pulling
 * manifests", "Pushing manifests", "Deleting manifests").
 *
 * Content negotiation: the stored manifest is returned as stored, with its own media type.
 * Berth never converts (the reference's schema 1 down-conversion) and never answers 404
 * because the `Accept` list lacks the type (the reference does that for OCI types): every
 * client that can parse the manifest gets it, and one that cannot will say so itself.
 */
import { RegistryError } from '../errors/registry-error.js';
import { isValidTag } from '../oci/names.js';
import type { ApiContext } from './context.js';
import type { ApiReply, ApiRequest } from './types.js';

/** The largest manifest accepted; the OCI spec asks registries to take at least 4 MB. */
export const maxManifestBytes = 4 << 20;

/** A reference is a digest (it has a colon) or a tag of the tag grammar. */
function checkReference(reference: string): string {
  const decoded = decodeURIComponent(reference);
  if (!decoded.includes(':') && !isValidTag(decoded)) {
    throw new RegistryError('TAG_INVALID', { tag: decoded });
  }
  return decoded;
}

export async function getManifest(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  reference: string,
): Promise<ApiReply> {
  const manifest = await ctx.registry.manifests.get(name, checkReference(reference));
  const etag = `"${manifest.digest.value}"`;
  const headers = {
    'Content-Type': manifest.mediaType,
    'Docker-Content-Digest': manifest.digest.value,
    ETag: etag,
  };
  const logFields = { repo: name, ref: reference, digest: manifest.digest.value };
  if (req.header('if-none-match') === etag) return { status: 304, headers, logFields };
  if (req.method === 'HEAD') {
    return { status: 200, headers, contentLength: manifest.bytes.byteLength, logFields };
  }
  return { status: 200, headers, body: manifest.bytes, logFields };
}

export async function putManifest(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  reference: string,
): Promise<ApiReply> {
  const ref = checkReference(reference);
  const tags = req.query.getAll('tag');
  const badTag = tags.find((tag) => !isValidTag(tag));
  if (badTag !== undefined) throw new RegistryError('TAG_INVALID', { tag: badTag });

  const bytes = await req.body.readAll(maxManifestBytes, tooBig);
  const contentType = req.header('content-type');
  const { digest, info } = await ctx.registry.manifests.put(name, ref, bytes, contentType, tags);
  const headers: Record<string, string | string[]> = {
    Location: `${req.baseUrl}/v2/${name}/manifests/${digest.value}`,
    'Docker-Content-Digest': digest.value,
  };
  if (tags.length > 0) headers['OCI-Tag'] = tags;
  // Tells the client the referrers index was updated, so it need not keep a tag schema list.
  if (info.subject !== undefined) headers['OCI-Subject'] = info.subject;
  return { status: 201, headers, logFields: { repo: name, ref, digest: digest.value } };
}

function tooBig(): RegistryError {
  return new RegistryError(
    'MANIFEST_INVALID',
    `manifest larger than ${maxManifestBytes} bytes`,
    413,
  );
}

export async function deleteManifest(
  ctx: ApiContext,
  _req: ApiRequest,
  name: string,
  reference: string,
): Promise<ApiReply> {
  if (!ctx.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletion is disabled');
  const ref = checkReference(reference);
  await ctx.registry.manifests.delete(name, ref);
  return { status: 202, logFields: { repo: name, ref } };
}
