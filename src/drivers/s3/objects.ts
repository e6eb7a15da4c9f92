/** Single-object operations shared by the driver and its writer. */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { isMissing } from './client.js';
import type { Bucket } from './multipart.js';

/** An ETag in its quoted form, which `If-Match` headers need; services differ in quoting. */
export function quoteETag(etag: string | undefined): string | null {
  if (etag === undefined || etag === '') return null;
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

/** What HEAD tells of an object. */
export interface ObjectHead {
  size: number;
  etag: string | null;
  modTime: Date;
}

/** HEAD of `key`, or null when there is no such object. */
export async function headObject(bucket: Bucket, key: string): Promise<ObjectHead | null> {
  try {
    const out = await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }));
    return {
      size: out.ContentLength ?? 0,
      etag: quoteETag(out.ETag),
      modTime: out.LastModified ?? new Date(0),
    };
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/**
 * The whole content of `key`. With `etag`, only while the object still has it (S3 answers
 * 412 otherwise). Throws the SDK's error for a missing key.
 */
export async function getObjectBytes(
  bucket: Bucket,
  key: string,
  etag?: string | null,
): Promise<Buffer> {
  const out = await bucket.client.send(
    new GetObjectCommand({ Bucket: bucket.name, Key: key, IfMatch: etag ?? undefined }),
  );
  if (out.Body === undefined) return Buffer.alloc(0);
  const bytes = await out.Body.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Deletes `key`; S3 treats a missing key as deleted, so this never reports a miss. */
export async function deleteObject(bucket: Bucket, key: string): Promise<void> {
  await bucket.client.send(new DeleteObjectCommand({ Bucket: bucket.name, Key: key }));
}
