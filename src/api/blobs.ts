/**
 * `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>` (OCI spec "Pulling blobs", "Deleting
 * blobs"). GET serves one byte range when asked (RFC 9110 section 14), streamed from the
 * driver with backpressure, or redirects to the driver's URL when it offers one.
 */
import { RegistryError } from '../errors/registry-error.js';
import { parseDigest } from '../oci/digest.js';
import type { ApiContext } from './context.js';
import type { ApiReply, ApiRequest } from './types.js';

/** `[start, end)` of a single `Range: bytes=...` the blob can satisfy; null for the whole blob. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or units other than bytes: RFC 9110 lets us answer with the whole blob.
  if (m === null) return null;
  const [, first = '', last = ''] = m;
  let start: number;
  let end: number;
  if (first === '') {
    if (last === '') return null;
    start = Math.max(0, size - Number(last));
    end = size;
  } else {
    start = Number(first);
    end = last === '' ? size : Math.min(size, Number(last) + 1);
  }
  // A last byte before the first makes the header invalid: RFC 9110 14.2 says ignore it.
  if (first !== '' && last !== '' && Number(last) < Number(first)) return null;
  if (start >= size || start >= end || (first === '' && Number(last) === 0)) {
    throw new RegistryError('RANGE_INVALID', { size }).withHeader(
      'Content-Range',
      `bytes */${size}`,
    );
  }
  return { start, end };
}

export async function getBlob(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  reference: string,
): Promise<ApiReply> {
  const digest = parseDigest(decodeURIComponent(reference));
  const size = await ctx.registry.blobs.stat(name, digest);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest.value,
    ETag: `"${digest.value}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  const logFields = { repo: name, digest: digest.value };
  const head = req.method === 'HEAD';

  if (!ctx.redirectDisabled) {
    const method = head ? 'HEAD' : 'GET';
    const url = await ctx.registry.blobs.redirectURL(method, digest, req.remoteIp);
    if (url !== null) return { status: 307, headers: { ...headers, Location: url }, logFields };
  }
  if (req.header('if-none-match') === headers['ETag']) {
    return { status: 304, headers, logFields };
  }
  const range = parseRange(req.header('range'), size);
  if (head) return { status: 200, headers, contentLength: size, logFields };
  if (range === null) {
    const readable = await ctx.registry.blobs.open(digest, 0, size);
    return { status: 200, headers, stream: { readable, length: size }, logFields };
  }
  headers['Content-Range'] = `bytes ${range.start}-${range.end - 1}/${size}`;
  const readable = await ctx.registry.blobs.open(digest, range.start, range.end);
  return { status: 206, headers, stream: { readable, length: range.end - range.start }, logFields };
}

export async function deleteBlob(
  ctx: ApiContext,
  _req: ApiRequest,
  name: string,
  reference: string,
): Promise<ApiReply> {
  if (!ctx.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletion is disabled');
  const digest = parseDigest(decodeURIComponent(reference));
  await ctx.registry.blobs.delete(name, digest);
  return {
    status: 202,
    headers: { 'Docker-Content-Digest': digest.value },
    logFields: { repo: name },
  };
}
