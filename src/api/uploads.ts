/**
 * Blob uploads (OCI spec "Pushing blobs"; Docker API "Pushing a Layer"): start, monolithic,
 * chunked and streamed, cross-repository mount, status, and cancel. Every style real
 * clients use ends in `completeUpload` or in a single POST with `?digest=`.
 */
import { RegistryError } from '../errors/registry-error.js';
import {
  isSupportedAlgorithm,
  parseDigest,
  tryParseDigest,
  type DigestAlgorithm,
} from '../oci/digest.js';
import { isValidName } from '../oci/names.js';
import type { ApiContext } from './context.js';
import type { ApiReply, ApiRequest } from './types.js';

/** The upload's location and the headers every 202 about it carries. */
function uploadReply(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
  size: number,
  algorithm: DigestAlgorithm,
  status: number,
): ApiReply {
  const state = ctx.registry.uploadState.sign({
    name,
    uuid,
    offset: size,
    startedAt: '',
    algorithm,
  });
  return {
    status,
    headers: {
      Location: `${req.baseUrl}/v2/${name}/blobs/uploads/${uuid}?_state=${state}`,
      // An empty upload still answers 0-0, as the reference does.
      Range: `0-${Math.max(0, size - 1)}`,
      'Docker-Upload-UUID': uuid,
    },
    logFields: { repo: name, uploadId: uuid, bytes: size },
  };
}

function blobCreated(req: ApiRequest, name: string, digest: string, extra = {}): ApiReply {
  return {
    status: 201,
    headers: {
      Location: `${req.baseUrl}/v2/${name}/blobs/${digest}`,
      'Docker-Content-Digest': digest,
    },
    logFields: { repo: name, digest, ...extra },
  };
}

/** The `digest` query parameter: required where it is read. */
function requiredDigest(req: ApiRequest) {
  const text = req.query.get('digest');
  if (text === null || text === '') throw new RegistryError('DIGEST_INVALID', 'digest missing');
  return parseDigest(text);
}

/** The algorithm the client asked for with `digest-algorithm`, or sha256. */
function requestedAlgorithm(req: ApiRequest): DigestAlgorithm {
  const name = req.query.get('digest-algorithm');
  if (name === null || name === '') return 'sha256';
  if (!isSupportedAlgorithm(name))
    throw new RegistryError('DIGEST_INVALID', `unsupported algorithm ${name}`);
  return name;
}

/**
 * The upload's state token, checked when present: its algorithm (sha256 without a token) and
 * the offset it was issued at (null without a token).
 */
function uploadToken(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
): { algorithm: DigestAlgorithm; offset: number | null } {
  const token = req.query.get('_state');
  if (token === null) return { algorithm: 'sha256', offset: null };
  const state = ctx.registry.uploadState.verify(token, name, uuid);
  return { algorithm: state.algorithm, offset: state.offset };
}

/**
 * Receives a request's bytes where they must start: at the `Content-Range` start (else 416),
 * or without one at the offset of the `_state` token it carries, for a Location used twice
 * (a PATCH resent after its answer was lost) would append the same bytes again. That answers
 * `BLOB_UPLOAD_INVALID`, as the reference does ("resumed at wrong offset"); unlike the
 * reference, Berth keeps the upload, and a status request tells the client where it is.
 * Without either, the bytes are appended.
 */
async function receiveAt(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
  algorithm: DigestAlgorithm,
  range: { start: number } | null,
  token: { offset: number | null },
): Promise<number> {
  try {
    return await receive(ctx, req, name, uuid, algorithm, range?.start ?? token.offset ?? -1);
  } catch (err) {
    if (range !== null || !(err instanceof RegistryError) || err.code !== 'RANGE_INVALID')
      throw err;
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      `upload resumed at wrong offset: the Location used was issued at ${token.offset}`,
    );
  }
}

/** `Content-Range: <start>-<end>` of a chunk; null when absent. */
function contentRange(req: ApiRequest): { start: number; end: number } | null {
  const header = req.header('content-range');
  if (header === undefined) return null;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  // The Docker API answers a Content-Range it cannot use, malformed or not, with 416.
  if (m === null) throw new RegistryError('RANGE_INVALID', 'malformed Content-Range');
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new RegistryError('RANGE_INVALID', 'Content-Range ends before it starts');
  const length = req.body.declaredLength;
  if (length >= 0 && length !== end - start + 1) {
    throw new RegistryError('RANGE_INVALID', 'Content-Range does not match Content-Length');
  }
  return { start, end };
}

/** Streams the request body into an upload; returns the upload's new size. */
async function receive(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
  algorithm: DigestAlgorithm,
  expectedOffset: number,
): Promise<number> {
  const sink = await ctx.registry.uploads.sink(name, uuid, algorithm, expectedOffset);
  await req.body.pipeTo(sink);
  return sink.end();
}

/** POST /v2/<name>/blobs/uploads/: start, single-request upload, or mount. */
export async function startUpload(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
): Promise<ApiReply> {
  const uploads = ctx.registry.uploads;
  const mount = tryParseDigest(req.query.get('mount') ?? '');
  const from = req.query.get('from');
  if (mount !== null && from !== null && isValidName(from)) {
    const size = await ctx.registry.blobs.mount(name, from, mount);
    if (size !== null) return blobCreated(req, name, mount.value, { from });
    // Not in the source: a new upload, as clients expect (they then push the bytes).
  }

  if (req.query.has('digest')) {
    const digest = requiredDigest(req);
    const uuid = uploads.newId();
    try {
      await receive(ctx, req, name, uuid, digest.algorithm, -1);
    } catch (err) {
      // A single-request upload cannot be resumed: nothing of it may stay behind.
      await uploads.discard(name, uuid);
      throw err;
    }
    const size = await uploads.complete(name, uuid, digest);
    return blobCreated(req, name, digest.value, { bytes: size });
  }

  const algorithm = requestedAlgorithm(req);
  const { uuid } = await uploads.start(name);
  // A body on a POST without a digest means nothing (some clients send one): it is ignored.
  return uploadReply(ctx, req, name, uuid, 0, algorithm, 202);
}

/** PATCH: appends a chunk (with Content-Range) or a stream (without). */
export async function patchUpload(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
): Promise<ApiReply> {
  const token = uploadToken(ctx, req, name, uuid);
  const algorithm = token.algorithm;
  const range = contentRange(req);
  const uploads = ctx.registry.uploads;
  const current = await uploads.exclusive(uuid, async () => {
    await uploads.check(name, uuid);
    const size = await receiveAt(ctx, req, name, uuid, algorithm, range, token);
    return size >= 0 ? size : uploads.size(name, uuid);
  });
  return uploadReply(ctx, req, name, uuid, current, algorithm, 202);
}

/** PUT ?digest=: appends the last chunk, if any, and completes the upload. */
export async function completeUpload(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
): Promise<ApiReply> {
  const digest = requiredDigest(req);
  const token = uploadToken(ctx, req, name, uuid);
  const range = contentRange(req);
  const uploads = ctx.registry.uploads;
  const size = await uploads.exclusive(uuid, async () => {
    await uploads.check(name, uuid);
    if (req.body.present) {
      await receiveAt(ctx, req, name, uuid, digest.algorithm, range, token);
    }
    return uploads.complete(name, uuid, digest);
  });
  return blobCreated(req, name, digest.value, { uploadId: uuid, bytes: size });
}

/** GET: how far the upload has come. */
export async function getUploadStatus(
  ctx: ApiContext,
  req: ApiRequest,
  name: string,
  uuid: string,
): Promise<ApiReply> {
  const { algorithm } = uploadToken(ctx, req, name, uuid);
  const uploads = ctx.registry.uploads;
  const status = async (): Promise<number> => {
    await uploads.check(name, uuid);
    return uploads.size(name, uuid);
  };
  // Counting an object store's parts opens a writer, which must not race a PATCH's; a file
  // can be measured while a PATCH runs, and the client sees its progress.
  const size = ctx.registry.driver.buffersWrites
    ? await uploads.exclusive(uuid, status)
    : await status();
  return uploadReply(ctx, req, name, uuid, size, algorithm, 204);
}

/** DELETE: cancels the upload and removes its bytes. */
export async function cancelUpload(
  ctx: ApiContext,
  _req: ApiRequest,
  name: string,
  uuid: string,
): Promise<ApiReply> {
  const uploads = ctx.registry.uploads;
  await uploads.exclusive(uuid, () => uploads.cancel(name, uuid));
  return { status: 204, logFields: { repo: name, uploadId: uuid } };
}
