/**
 * The S3 client of one driver instance, the headers every write carries, and how the SDK's
 * errors become the driver contract's. Loaded only when an s3 driver is used.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { ObjectCannedACL, ServerSideEncryption, StorageClass } from '@aws-sdk/client-s3';
import { PathNotFoundError, StorageDriverError } from '../driver.js';
import type { S3DriverParams } from './params.js';

/** The driver's name, as in the configuration. */
export const NAME = 's3';

/**
 * Attempts per request, the first included. The SDK's `standard` strategy retries 5xx,
 * throttling (`SlowDown`, 429, 503) and transient network errors (`ECONNRESET`, `EPIPE`,
 * timeouts) with exponential backoff and full jitter (base 100 ms, capped at 20 s), within a
 * retry-token budget that stops retry storms when the service is down.
 */
export const MAX_ATTEMPTS = 5;

/** Time allowed to open a connection before the attempt fails (and is retried). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The endpoint: `regionendpoint`, else the SDK's AWS endpoint, except that `secure: false`
 * on AWS needs the regional endpoint spelled out with `http:` (the SDK's `tls` switch for
 * that is deprecated).
 */
function endpointOf(params: S3DriverParams): { endpoint?: string } {
  if (params.regionendpoint !== null) return { endpoint: params.regionendpoint };
  if (params.secure) return {};
  const domain = params.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { endpoint: `http://s3.${params.region}.${domain}` };
}

/**
 * Builds the client for `params`. Credentials are the static keys when given, else the SDK's
 * default chain (environment, shared files, SSO, web identity, ECS and EC2 instance roles).
 * A private CA is trusted through Node's own `NODE_EXTRA_CA_CERTS`; `skipverify` gives an
 * agent that accepts any certificate. Checksums are computed and validated only where S3
 * requires them: the newer default (CRC32 on every upload, aws-chunked trailers) is refused
 * by many S3-compatible services, and the registry verifies blob digests itself.
 */
export function createS3Client(params: S3DriverParams): S3Client {
  const agent = { keepAlive: true, maxSockets: Math.max(64, params.multipartcopymaxconcurrency) };
  return new S3Client({
    region: params.region,
    ...endpointOf(params),
    forcePathStyle: params.forcepathstyle,
    ...(params.accesskey !== null && params.secretkey !== null
      ? { credentials: { accessKeyId: params.accesskey, secretAccessKey: params.secretkey } }
      : {}),
    ...(params.useragent === null ? {} : { customUserAgent: params.useragent }),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent({ ...agent, rejectUnauthorized: !params.skipverify }),
      connectionTimeout: CONNECT_TIMEOUT_MS,
    },
  });
}

/** The headers of every object the driver creates (PutObject, copies, multipart uploads). */
export interface WriteHeaders {
  ContentType: string;
  ACL?: ObjectCannedACL;
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
  StorageClass?: StorageClass;
}

/**
 * The write headers of `params`. The `private` ACL and the `STANDARD` class are S3's own
 * defaults, so they are left out: buckets with ACLs disabled (AWS's default since 2023)
 * refuse an ACL header, and some S3-compatible services refuse a storage class.
 */
export function writeHeaders(params: S3DriverParams): WriteHeaders {
  const headers: WriteHeaders = { ContentType: 'application/octet-stream' };
  if (params.objectacl !== 'private') headers.ACL = params.objectacl;
  if (params.storageclass !== 'STANDARD' && params.storageclass !== 'NONE') {
    headers.StorageClass = params.storageclass;
  }
  if (params.encrypt) {
    headers.ServerSideEncryption = params.keyid === null ? 'AES256' : 'aws:kms';
    if (params.keyid !== null) headers.SSEKMSKeyId = params.keyid;
  }
  return headers;
}

/** The HTTP status of an SDK error, if it has one. */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return meta?.httpStatusCode;
}

/** The S3 error code (`NoSuchKey`, `InvalidRange`, ...) of an SDK error. */
export function errorCode(err: unknown): string | undefined {
  return err instanceof S3ServiceException ? err.name : undefined;
}

/**
 * True when S3 says the key is not there: `NoSuchKey` for GET, a bare 404 for HEAD (which
 * has no body to name the error). A missing bucket is a configuration fault, not a miss.
 */
export function isMissing(err: unknown): boolean {
  const code = errorCode(err);
  if (code === 'NoSuchKey' || code === 'NotFound') return true;
  return statusOf(err) === 404 && code !== 'NoSuchBucket' && code !== 'NoSuchUpload';
}

/** True for `InvalidRange` (416): a read that starts at or past the end of the object. */
export function isInvalidRange(err: unknown): boolean {
  return errorCode(err) === 'InvalidRange' || statusOf(err) === 416;
}

/** True when a multipart upload is gone (completed or aborted by another writer). */
export function isNoSuchUpload(err: unknown): boolean {
  return errorCode(err) === 'NoSuchUpload';
}

/**
 * `err` as the driver throws it: a missing key becomes `PathNotFoundError` for `path`,
 * driver errors pass unchanged, anything else becomes a `StorageDriverError` naming the
 * operation and keeping the SDK's error as its `cause`.
 */
export function driverError(err: unknown, op: string, path: string): StorageDriverError {
  if (err instanceof StorageDriverError) return err;
  if (isMissing(err)) return new PathNotFoundError(path, NAME);
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new StorageDriverError(`s3 ${op} ${path} failed: ${detail}`, NAME, { cause: err });
}
