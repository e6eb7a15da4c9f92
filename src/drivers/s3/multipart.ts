/**
 * Multipart-upload operations shared by `move` (multipart copy of large objects) and the
 * writer (uploads that outlive a request): listing uploads and parts, copying an object into
 * parts, completing and aborting.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { isNoSuchUpload, type WriteHeaders } from './client.js';
import { copySource } from './keys.js';
import { MAX_PARTS, MIN_PART_SIZE } from './params.js';

/** What every multipart operation needs: the client, the bucket and the write headers. */
export interface Bucket {
  client: S3Client;
  name: string;
  headers: WriteHeaders;
}

/** A multipart upload in progress. */
export interface Upload {
  key: string;
  uploadId: string;
  /** When it was created, in ms since the epoch (0 when the service does not say). */
  initiated: number;
}

/** A part of an upload in progress, with its size. */
export interface UploadedPart {
  PartNumber: number;
  ETag: string;
  Size: number;
}

/**
 * The uploads in progress whose key starts with `prefix` and passes `wanted`, page by page.
 * S3 matches by prefix only, so `exactly(key)` or `within(dir)` narrows the listing down.
 */
export async function* listUploads(
  bucket: Bucket,
  prefix: string,
  wanted: (key: string) => boolean,
): AsyncGenerator<Upload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await bucket.client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket.name,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      if (!wanted(upload.Key)) continue;
      const initiated = upload.Initiated?.getTime() ?? 0;
      yield { key: upload.Key, uploadId: upload.UploadId, initiated };
    }
    if (page.IsTruncated !== true) return;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
    // A service that says "truncated" without a marker would make this loop forever.
    if (keyMarker === undefined && uploadIdMarker === undefined) return;
  }
}

/** Every part of an upload, in part-number order. */
export async function listParts(bucket: Bucket, upload: Upload): Promise<UploadedPart[]> {
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await bucket.client.send(
      new ListPartsCommand({
        Bucket: bucket.name,
        Key: upload.key,
        UploadId: upload.uploadId,
        PartNumberMarker: marker,
      }),
    );
    for (const part of page.Parts ?? []) {
      const { PartNumber, ETag, Size } = part;
      if (PartNumber === undefined || ETag === undefined || Size === undefined) continue;
      parts.push({ PartNumber, ETag, Size });
    }
    if (page.IsTruncated !== true || page.NextPartNumberMarker === undefined) break;
    marker = page.NextPartNumberMarker;
  }
  return parts.sort((a, b) => a.PartNumber - b.PartNumber);
}

/** Creates a multipart upload of `key` with the driver's write headers; returns its id. */
export async function createUpload(bucket: Bucket, key: string): Promise<string> {
  const out = await bucket.client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: key, ...bucket.headers }),
  );
  if (out.UploadId === undefined) throw new Error(`no upload id for ${key}`);
  return out.UploadId;
}

/** Completes an upload from its parts (sorted here). */
export async function completeUpload(
  bucket: Bucket,
  key: string,
  uploadId: string,
  parts: readonly CompletedPart[],
): Promise<void> {
  const sorted = parts
    .map(({ PartNumber, ETag }) => ({ PartNumber, ETag }))
    .sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  await bucket.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket.name,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: sorted },
    }),
  );
}

/** Aborts an upload; one already gone (completed or aborted elsewhere) is not an error. */
export async function abortUpload(bucket: Bucket, key: string, uploadId: string): Promise<void> {
  try {
    await bucket.client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: uploadId }),
    );
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
  }
}

/**
 * Splits `size` bytes into at most `MAX_PARTS` nearly equal `[start, end)` pieces of about
 * `chunk` bytes, none smaller than S3's 5 MiB part minimum (except a lone piece). Equal
 * pieces keep the last one from being a sliver, so the pieces may be followed by more parts.
 */
export function splitEvenly(size: number, chunk: number): Array<[number, number]> {
  const wanted = Math.ceil(size / chunk);
  const count = Math.max(1, Math.min(wanted, Math.floor(size / MIN_PART_SIZE), MAX_PARTS));
  const base = Math.floor(size / count);
  const extra = size % count;
  const pieces: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = start + base + (i < extra ? 1 : 0);
    pieces.push([start, end]);
    start = end;
  }
  return pieces;
}

/** What {@link copyIntoParts} copies from. */
export interface CopyFrom {
  key: string;
  size: number;
  /** Copy only while the source still has this ETag (`x-amz-copy-source-if-match`). */
  etag?: string;
}

/**
 * Copies the whole `source` object into parts `firstPart`, `firstPart + 1`, ... of an upload
 * with `UploadPartCopy`, in pieces of about `chunk` bytes, `concurrency` at a time. Stops
 * starting pieces at the first failure and rethrows it once all started ones have settled.
 */
export async function copyIntoParts(
  bucket: Bucket,
  source: CopyFrom,
  dest: { key: string; uploadId: string; firstPart: number },
  chunk: number,
  concurrency: number,
): Promise<UploadedPart[]> {
  const pieces = splitEvenly(source.size, chunk);
  const parts: UploadedPart[] = [];
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < pieces.length) {
      const index = next++;
      const [start, end] = pieces[index] ?? [0, 0];
      const PartNumber = dest.firstPart + index;
      try {
        const out = await bucket.client.send(
          new UploadPartCopyCommand({
            Bucket: bucket.name,
            Key: dest.key,
            UploadId: dest.uploadId,
            PartNumber,
            CopySource: copySource(bucket.name, source.key),
            CopySourceRange: `bytes=${start}-${end - 1}`,
            CopySourceIfMatch: source.etag,
          }),
        );
        const ETag = out.CopyPartResult?.ETag;
        if (ETag === undefined) throw new Error(`no ETag for copied part ${PartNumber}`);
        parts.push({ PartNumber, ETag, Size: end - start });
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pieces.length) }, lane));
  if (failure !== undefined) throw failure.err;
  return parts.sort((a, b) => a.PartNumber - b.PartNumber);
}
