/**
 * The `cloudfront` storage middleware: blob reads redirect to a CloudFront URL signed with
 * the distribution's key pair (a canned policy: the URL, valid until now + `duration`; the
 * signature is RSA-SHA1 in CloudFront's URL-safe base64). With `ipfilteredby: aws` (or
 * `awsregion`), a client whose address lies in AWS's published ranges (of those regions)
 * gets the wrapped driver's own URL instead, an S3 presigned one: inside AWS the bucket is
 * nearer and cheaper than the CDN.
 *
 * As in the reference, the signed URL is `baseurl` followed by the S3 object key of the
 * path, `rootdirectory` included (so the distribution's origin is the bucket's root), and
 * only an s3 driver directly below the middleware has keys: over anything else (filesystem,
 * inmemory, or the `redirect` middleware in between) blob reads get the wrapped driver's own
 * URL, CloudFront is never used, and the start logs a warning.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { clientIpOf, type StorageDriver } from '../driver.js';
import type { AwsIpRanges } from './aws-ip-ranges.js';
import { MiddlewareOptionError, type CloudfrontOptions } from './options.js';
import type { UrlFor } from './wrap.js';

/** CloudFront's URL-safe base64: `+` → `-`, `=` → `_`, `/` → `~`. */
function cloudfrontBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~');
}

/** A signed URL for `resource` valid until `expires` (seconds since the epoch). */
export function signCloudfrontUrl(
  resource: string,
  expires: number,
  key: KeyObject,
  keyPairId: string,
): string {
  const policy = JSON.stringify({
    Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }],
  });
  const signature = cloudfrontBase64(createSign('RSA-SHA1').update(policy).sign(key));
  const url = new URL(resource);
  url.searchParams.set('Expires', String(expires));
  url.searchParams.set('Signature', signature);
  url.searchParams.set('Key-Pair-Id', keyPairId);
  return url.toString();
}

/** A driver that knows the S3 object key of a path: the s3 driver (reference: `S3BucketKeyer`). */
export interface S3Keyer {
  s3Key(path: string): string;
}

/** `driver` as an `S3Keyer` when it is one, else null. */
export function s3KeyerOf(driver: StorageDriver): S3Keyer | null {
  const candidate = driver as StorageDriver & Partial<S3Keyer>;
  return typeof candidate.s3Key === 'function' ? (candidate as S3Keyer) : null;
}

/**
 * Builds the URL maker: the driver's URL for a client `ranges` contains, a signed CloudFront
 * URL of the path's S3 key for anyone else (everyone when `ranges` is null); the driver's URL
 * for everyone when `driver` has no S3 keys. Reads the private key now; throws naming
 * `privatekey` when it cannot.
 */
export function cloudfrontUrlFor(
  options: CloudfrontOptions,
  driver: StorageDriver,
  ranges: AwsIpRanges | null,
): UrlFor {
  const { baseurl: base, keypairid, durationMs } = options;
  const key = readPrivateKey(options.privatekey);
  const keyer = s3KeyerOf(driver);
  if (keyer === null) {
    return (method, path, clientIp) => driver.redirectURL(method, path, clientIp);
  }
  const prefix = base.pathname.replace(/\/$/, '');
  return async (method, path, clientIp) => {
    if (ranges !== null && clientIp !== undefined && ranges.contains(clientIpOf(clientIp))) {
      return driver.redirectURL(method, path, clientIp);
    }
    const resource = `${base.protocol}//${base.host}${prefix}/${keyer.s3Key(path)}`;
    const expires = Math.floor((Date.now() + durationMs) / 1000);
    return signCloudfrontUrl(resource, expires, key, keypairid);
  };
}

function readPrivateKey(file: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(file));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new MiddlewareOptionError('cloudfront', 'privatekey', `cannot read ${file}: ${reason}`);
  }
}
