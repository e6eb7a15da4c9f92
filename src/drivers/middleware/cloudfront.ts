/**
 * The `cloudfront` storage middleware: blob reads redirect to a CloudFront URL signed with
 * the distribution's key pair (a canned policy: the URL, valid until now + `duration`; the
 * signature is RSA-SHA1 in CloudFront's URL-safe base64). Only `ipfilteredby: none` is
 * supported: the AWS filters need AWS's published IP ranges, fetched from the network.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseGoDuration } from '../../config/duration.js';
import { baseUrlOption, type UrlFor } from './wrap.js';

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

/** Builds the URL maker from the middleware's options; throws naming a bad option. */
export function cloudfrontUrlFor(options: Record<string, unknown>): UrlFor {
  const base = baseUrlOption(options, 'cloudfront');
  const { privatekey, keypairid, duration, ipfilteredby } = options;
  if (typeof privatekey !== 'string' || privatekey === '') {
    throw new Error('middleware cloudfront: privatekey (a PEM file path) is required');
  }
  if (typeof keypairid !== 'string' || keypairid === '') {
    throw new Error('middleware cloudfront: keypairid is required');
  }
  if (ipfilteredby !== undefined && ipfilteredby !== 'none') {
    throw new Error('middleware cloudfront: only ipfilteredby none is supported by Berth');
  }
  // The reference: an integer without a unit, or nothing, means 20 minutes.
  const ms = typeof duration === 'string' ? parseGoDuration(duration) : undefined;
  const validMs = ms === undefined || ms <= 0 ? 20 * 60_000 : ms;
  const key = createPrivateKey(readFileSync(privatekey));
  const prefix = base.pathname.replace(/\/$/, '');
  return async (_method, path) => {
    const resource = `${base.protocol}//${base.host}${prefix}${path}`;
    const expires = Math.floor((Date.now() + validMs) / 1000);
    return signCloudfrontUrl(resource, expires, key, keypairid);
  };
}
