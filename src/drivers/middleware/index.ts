/**
 * The storage middleware named in `middleware.storage`, applied in order around the driver:
 * `redirect` (a proxy's base URL) and `cloudfront` (signed CloudFront URLs).
 */
import type { StorageDriver } from '../driver.js';
import { cloudfrontUrlFor } from './cloudfront.js';
import { baseUrlOption, RedirectingDriver } from './wrap.js';

/** One entry of `middleware.storage`. */
export interface MiddlewareEntry {
  name: string;
  options: Record<string, unknown>;
}

/**
 * Wraps `driver` in each middleware of `entries`. Throws an Error naming the middleware for
 * an unknown name or a bad option.
 */
export function applyStorageMiddleware(
  driver: StorageDriver,
  entries: readonly MiddlewareEntry[],
): StorageDriver {
  let wrapped = driver;
  for (const { name, options } of entries) {
    if (name === 'redirect') {
      const base = baseUrlOption(options, 'redirect');
      // As the reference: the storage path under the proxy's scheme and host.
      wrapped = new RedirectingDriver(wrapped, async (_method, path) => {
        return new URL(path, `${base.protocol}//${base.host}`).toString();
      });
    } else if (name === 'cloudfront') {
      wrapped = new RedirectingDriver(wrapped, cloudfrontUrlFor(options));
    } else {
      throw new Error(`storage middleware ${name} is not supported (redirect, cloudfront are)`);
    }
  }
  return wrapped;
}
