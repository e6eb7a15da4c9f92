/**
 * The `cloudfront` storage middleware: blob reads redirect to a CloudFront URL signed with
 * the distribution's key pair (a canned policy: the URL, valid until now + `duration`; the
 * signature is RSA-SHA1 in CloudFront's URL-safe base64). With `ipfilteredby: aws` (or
 * `awsregion`), a client whose address lies in AWS's published ranges (of those regions)
 * gets the wrapped driver's own URL instead, an S3 presigned one: inside AWS the bucket is
 * nearer and cheaper than the CDN.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StorageDriver } from '../driver.js';
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

/**
 * Builds the URL maker: the driver's URL for a client `ranges` contains, a signed CloudFront
 * URL for anyone else (everyone when `ranges` is null). Reads the private key now; throws
 * naming `privatekey` when it cannot.
 */
export function cloudfrontUrlFor(
  options: CloudfrontOptions,
  driver: StorageDriver,
  ranges: AwsIpRanges | null,
): UrlFor {
  const { baseurl: base, keypairid, durationMs } = options;
  const key = readPrivateKey(options.privatekey);
  const prefix = base.pathname.replace(/\/$/, '');
  return async (method, path, clientIp) => {
    if (ranges !== null && clientIp !== undefined && ranges.contains(clientIp)) {
      return driver.redirectURL(method, path, clientIp);
    }
    const resource = `${base.protocol}//${base.host}${prefix}${path}`;
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
