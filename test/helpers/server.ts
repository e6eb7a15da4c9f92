/**
 * An in-process Berth for HTTP tests: `startRegistry` on 127.0.0.1, an ephemeral port and a
 * fresh storage root, configured through `loadConfig` and `REGISTRY_*` overrides as an
 * operator would. Plus small push helpers built on the global `fetch`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry } from '../../src/main.js';

/** The storage drivers Berth implements. */
export type DriverName = 'filesystem' | 'inmemory';

/** Both drivers, for suites that run once per driver. */
export const drivers: readonly DriverName[] = ['filesystem', 'inmemory'];

export interface TestRegistryOptions {
  /** Storage driver; default filesystem. */
  driver?: DriverName;
  /** `storage.delete.enabled`; default false, as in the reference. */
  deleteEnabled?: boolean;
  /** `storage.maintenance.readonly.enabled`; default false. */
  readOnly?: boolean;
  /**
   * Storage root to use instead of a fresh one; kept at `stop()` (the caller owns it). Used
   * to restart a registry over the same data.
   */
  root?: string;
  /**
   * More `REGISTRY_*` variables; they win over the ones this helper sets. With
   * `REGISTRY_STORAGE` among them, that driver replaces the filesystem one.
   */
  env?: Record<string, string>;
}

export interface TestRegistry {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  port: number;
  /** The storage root (an empty, unused directory with the inmemory driver). */
  root: string;
  /** Stops the registry and removes the root it created. Calling it again does nothing. */
  stop(): Promise<void>;
}

/** The `http.secret` every test registry shares unless told otherwise. */
export const testSecret = 'berth-api-test-secret';

/** Starts a registry in this process; resolves once it listens. */
export async function startTestRegistry(opts: TestRegistryOptions = {}): Promise<TestRegistry> {
  const driver = opts.driver ?? 'filesystem';
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'berth-api-')));
  const env: Record<string, string> = {
    REGISTRY_HTTP_ADDR: '127.0.0.1:0',
    REGISTRY_HTTP_SECRET: testSecret,
    REGISTRY_LOG_LEVEL: 'error',
    REGISTRY_LOG_ACCESSLOG_DISABLED: 'true',
    REGISTRY_STORAGE_DELETE_ENABLED: String(opts.deleteEnabled ?? false),
    REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: String(opts.readOnly ?? false),
  };
  if (driver === 'inmemory') env['REGISTRY_STORAGE'] = 'inmemory';
  // A driver that `env` chooses (`REGISTRY_STORAGE: 's3'`) gets no filesystem root.
  else if (opts.env?.['REGISTRY_STORAGE'] === undefined) {
    env['REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY'] = root;
  }
  Object.assign(env, opts.env);

  const removeRoot = async (): Promise<void> => {
    if (ownRoot) await rm(root, { recursive: true, force: true });
  };
  let running: Awaited<ReturnType<typeof startRegistry>>;
  try {
    const { config } = await loadConfig(undefined, env, root);
    running = await startRegistry(config, { log: pino({ level: 'silent' }), shards: 2 });
  } catch (err) {
    await removeRoot();
    throw err;
  }
  let stopped: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${running.port}`,
    port: running.port,
    root,
    stop: () => {
      stopped ??= (async () => {
        await running.stop();
        await removeRoot();
      })();
      return stopped;
    },
  };
}

/** `sha256:<hex>` of some bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The OCI image manifest media type. */
export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';
/** The OCI image config media type. */
export const ociConfigType = 'application/vnd.oci.image.config.v1+json';
/** The OCI gzip layer media type. */
export const ociLayerType = 'application/vnd.oci.image.layer.v1.tar+gzip';

async function failure(what: string, res: Response): Promise<Error> {
  return new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Pushes a blob with one `POST /v2/<repo>/blobs/uploads/?digest=`. Resolves with its digest;
 * rejects unless the registry answers 201.
 */
export async function pushBlob(
  url: string,
  repo: string,
  bytes: Uint8Array | string,
): Promise<string> {
  const digest = sha256(bytes);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: typeof bytes === 'string' ? bytes : Buffer.from(bytes),
  });
  if (res.status !== 201) throw await failure(`pushing blob ${digest} to ${repo}`, res);
  await res.arrayBuffer();
  return digest;
}

/**
 * Pushes a manifest (an object, serialised as JSON, or exact bytes) under a tag or digest.
 * Resolves with its digest and the bytes sent; rejects unless the registry answers 201.
 */
export async function pushManifest(
  url: string,
  repo: string,
  ref: string,
  manifest: object | string | Uint8Array,
  mediaType: string,
): Promise<{ digest: string; bytes: Buffer }> {
  const bytes =
    manifest instanceof Uint8Array
      ? Buffer.from(manifest)
      : Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body: bytes,
  });
  if (res.status !== 201) throw await failure(`pushing manifest ${repo}:${ref}`, res);
  await res.arrayBuffer();
  return { digest: sha256(bytes), bytes };
}

/** A descriptor (image-spec descriptor.md) of some bytes. */
export function descriptor(
  mediaType: string,
  bytes: Uint8Array | string,
): { mediaType: string; digest: string; size: number } {
  return { mediaType, digest: sha256(bytes), size: Buffer.byteLength(bytes) };
}

/** What {@link makeImage} pushed. */
export interface PushedImage {
  manifestDigest: string;
  manifestBytes: Buffer;
  configDigest: string;
  layerDigests: string[];
  /** The manifest's descriptor, for an index that lists it. */
  descriptor: { mediaType: string; digest: string; size: number };
}

/**
 * Pushes a small OCI image: a config, `layers` layers (a count of generated ones, or the
 * bytes of each) and an OCI manifest tagged `tag`.
 */
export async function makeImage(
  url: string,
  repo: string,
  tag: string,
  opts: { layers?: number | Array<Uint8Array | string> } = {},
): Promise<PushedImage> {
  const layerBytes =
    typeof opts.layers === 'number' || opts.layers === undefined
      ? Array.from({ length: opts.layers ?? 1 }, (_, i) => `layer ${i} of ${repo}:${tag}`)
      : opts.layers;
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', tag, repo });
  const configDigest = await pushBlob(url, repo, config);
  const layerDigests = await Promise.all(layerBytes.map((b) => pushBlob(url, repo, b)));
  const manifest = {
    schemaVersion: 2,
    mediaType: ociManifestType,
    config: descriptor(ociConfigType, config),
    layers: layerBytes.map((b) => descriptor(ociLayerType, b)),
  };
  const { digest, bytes } = await pushManifest(url, repo, tag, manifest, ociManifestType);
  return {
    manifestDigest: digest,
    manifestBytes: bytes,
    configDigest,
    layerDigests,
    descriptor: { mediaType: ociManifestType, digest, size: bytes.byteLength },
  };
}
