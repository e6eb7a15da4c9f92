/**
 * The storage middleware named in `middleware.storage`, applied in order around the driver:
 * `redirect` (a proxy's base URL) and `cloudfront` (signed CloudFront URLs of the s3 driver's
 * keys, or the driver's own for clients inside AWS).
 */
import type { Logger } from 'pino';
import type { StorageDriver } from '../driver.js';
import { AwsIpRanges } from './aws-ip-ranges.js';
import { cloudfrontUrlFor, s3KeyerOf } from './cloudfront.js';
import { parseCloudfrontOptions, parseRedirectOptions, unsupportedMiddleware } from './options.js';
import { RedirectingDriver } from './wrap.js';

/** One entry of `middleware.storage`. */
export interface MiddlewareEntry {
  name: string;
  options: Record<string, unknown>;
}

/** The driver wrapped in its middleware, and the background work some middleware does. */
export interface StorageMiddleware {
  driver: StorageDriver;
  /** Starts background work: cloudfront's fetches of AWS's IP ranges. */
  start(): void;
  /** Stops it; the driver keeps working with what it has. */
  stop(): void;
}

/**
 * Wraps `driver` in each middleware of `entries`. Throws an Error naming the middleware for
 * an unknown name or a bad option (a `MiddlewareOptionError` for the latter). Nothing runs
 * in the background until `start`.
 */
export function applyStorageMiddleware(
  driver: StorageDriver,
  entries: readonly MiddlewareEntry[],
  log?: Logger,
): StorageMiddleware {
  let wrapped = driver;
  const ranges: AwsIpRanges[] = [];
  for (const { name, options } of entries) {
    if (name === 'redirect') {
      const base = parseRedirectOptions(options);
      // As the reference: the storage path under the proxy's scheme and host.
      wrapped = new RedirectingDriver(wrapped, async (_method, path) => {
        return new URL(path, `${base.protocol}//${base.host}`).toString();
      });
    } else if (name === 'cloudfront') {
      const parsed = parseCloudfrontOptions(options);
      let filter: AwsIpRanges | null = null;
      if (s3KeyerOf(wrapped) === null) {
        // As the reference (which warns on every read): CloudFront fronts S3 keys only.
        log?.warn(
          { middleware: 'cloudfront', driver: wrapped.name },
          'cloudfront applies only to an s3 driver directly below it; blob reads get the URLs ' +
            'of the driver it wraps',
        );
      } else if (parsed.ipfilteredby !== 'none') {
        const regions = parsed.ipfilteredby === 'awsregion' ? parsed.awsregion : [];
        const rangeOptions = {
          url: parsed.iprangesurl,
          regions,
          updateMs: parsed.updatefrequencyMs,
        };
        filter = new AwsIpRanges(rangeOptions, log?.child({ middleware: 'cloudfront' }));
        ranges.push(filter);
      }
      wrapped = new RedirectingDriver(wrapped, cloudfrontUrlFor(parsed, wrapped, filter));
    } else {
      throw unsupportedMiddleware(name);
    }
  }
  return {
    driver: wrapped,
    start: () => ranges.forEach((r) => r.start()),
    stop: () => ranges.forEach((r) => r.stop()),
  };
}
