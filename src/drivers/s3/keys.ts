/**
 * How driver paths become S3 keys. The mapping is the reference's (`rootdirectory` without
 * its trailing slashes, then the path, then no leading slash), so that the Go registry
 * configured with the same bucket and `rootdirectory` finds every object where Berth put it:
 *
 * ```
 * rootdirectory ""          /docker/registry/v2/blobs/...  ->  docker/registry/v2/blobs/...
 * rootdirectory "/reg/"     /docker/registry/v2/blobs/...  ->  reg/docker/registry/v2/blobs/...
 * ```
 *
 * S3 has no directories: a "directory" is the common prefix `<key>/` of the keys below it,
 * and it exists exactly while one object does.
 */

/** Maps driver paths to keys and back for one `rootdirectory`. */
export class KeyMap {
  /** The prefix of every key, empty or ending in `/` (`reg/`). */
  readonly rootPrefix: string;
  private readonly root: string;

  constructor(rootdirectory: string) {
    this.root = rootdirectory.replace(/\/+$/, '');
    this.rootPrefix = this.key('/');
  }

  /** The key of a (validated) driver path; `/` gives the root prefix. */
  key(path: string): string {
    return (this.root + path).replace(/^\/+/, '');
  }

  /** The prefix every key below the directory `path` starts with (`<key>/`). */
  dirPrefix(path: string): string {
    return path === '/' ? this.rootPrefix : `${this.key(path)}/`;
  }

  /** The driver path of a key listed under the root (a common prefix may end in `/`). */
  path(key: string): string {
    const rest = key.slice(this.rootPrefix.length).replace(/\/$/, '');
    return `/${rest}`;
  }
}

/** `bucket/key` URL-encoded per segment, as `CopySource` wants it. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
