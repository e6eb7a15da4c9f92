/**
 * Building test images offline, from random local files only (no network, no base image),
 * as OCI image layouts on disk, and reading them back for comparison.
 *
 * Tools: `umoci` (0.4.7 here) creates layouts, images and layers (`umoci new`,
 * `umoci insert`, `umoci config --architecture`); `skopeo` (1.9.3 here) converts between
 * formats. Variants and how they are made:
 * - multi-layer, one big layer: `umoci insert` of random files (random data does not
 *   compress, so a 60 MiB file gives a layer of just over 60 MiB);
 * - two-platform index: two images (amd64, arm64) plus an OCI index blob written here;
 * - zero layers: `umoci new` alone;
 * - zstd layer: `skopeo copy --dest-compress-format zstd oci:A oci:B` (skopeo 1.9 recompresses
 *   when the destination is an OCI layout; it does NOT recompress when the destination is
 *   `docker://`, where the flag is silently ignored);
 * - Docker schema 2 (v2s2): `skopeo copy --format v2s2 oci:A dir:B` (skopeo's directory
 *   transport, since its `oci:` source cannot read a v2s2 manifest back).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skopeo } from './skopeo.js';
import { requireTool, run } from './tools.js';

/** OCI image manifest media type. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index media type. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list. */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** OCI zstd layer media type. */
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

const REF_NAME = 'org.opencontainers.image.ref.name';

/** A content descriptor as found in manifests and index.json. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

interface IndexJson {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

interface ManifestJson {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

function umoci(): string {
  return requireTool('umoci', 'umoci');
}

/** Splits `oci:DIR:TAG` into its directory and tag. */
export function parseOciRef(ref: string): { dir: string; tag: string } {
  const m = /^oci:(.+):([^:/]+)$/.exec(ref);
  if (m === null || m[1] === undefined || m[2] === undefined) {
    throw new Error(`not an oci:DIR:TAG reference: ${ref}`);
  }
  return { dir: m[1], tag: m[2] };
}

/** Path of a blob inside an OCI layout. */
export function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm === undefined || hex === undefined) throw new Error(`bad digest ${digest}`);
  return join(dir, 'blobs', algorithm, hex);
}

/**
 * Creates an empty OCI image layout at `dir` unless one is there already (umoci refuses an
 * existing directory, so an empty one is removed first).
 */
export async function initLayout(dir: string): Promise<void> {
  if (existsSync(join(dir, 'oci-layout'))) return;
  if (existsSync(dir)) {
    if ((await readdir(dir)).length > 0) throw new Error(`${dir} exists and is not a layout`);
    await rmdir(dir);
  }
  await run(umoci(), ['init', '--layout', dir]);
}

/** Writes `bytes` of random data to `file`, 1 MiB at a time. */
async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= 1024 * 1024) {
      await handle.write(randomBytes(Math.min(left, 1024 * 1024)));
    }
  } finally {
    await handle.close();
  }
}

/**
 * Adds one layer holding one file of random bytes at `/<name>` to `dir:tag`
 * (or, with `newTag`, to a new tag based on `dir:tag`).
 */
async function insertRandomLayer(
  dir: string,
  tag: string,
  bytes: number,
  name: string,
  newTag?: string,
): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'berth-layer-'));
  try {
    const file = join(scratch, 'data.bin');
    await writeRandomFile(file, bytes);
    const args = ['insert', '--no-history', '--image', `${dir}:${tag}`];
    if (newTag !== undefined) args.push('--tag', newTag);
    await run(umoci(), [...args, file, `/${name}`]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Options of {@link buildMultiLayerImage}. */
export interface MultiLayerOptions {
  /** Number of layers (at least 1). */
  layers: number;
  /** Size of the last layer in MiB; when omitted every layer is small. */
  bigLayerMiB?: number;
  /** Size of each small layer in KiB; default 256. */
  smallLayerKiB?: number;
  /** Tag inside the layout; default `latest`. */
  tag?: string;
  /** Config `architecture`; default amd64. */
  architecture?: string;
}

/**
 * Builds an image of `layers` layers of random files in the OCI layout `dir` (created if
 * needed).
 *
 * @returns The reference `oci:DIR:TAG`.
 */
export async function buildMultiLayerImage(dir: string, opts: MultiLayerOptions): Promise<string> {
  const tag = opts.tag ?? 'latest';
  await initLayout(dir);
  await run(umoci(), ['new', '--image', `${dir}:${tag}`]);
  for (let i = 0; i < opts.layers; i++) {
    const big = opts.bigLayerMiB !== undefined && i === opts.layers - 1;
    const bytes = big ? (opts.bigLayerMiB ?? 0) * 1024 * 1024 : (opts.smallLayerKiB ?? 256) * 1024;
    await insertRandomLayer(dir, tag, bytes, `layer-${i}.bin`);
  }
  await run(umoci(), [
    'config',
    '--no-history',
    '--image',
    `${dir}:${tag}`,
    '--os',
    'linux',
    '--architecture',
    opts.architecture ?? 'amd64',
  ]);
  return `oci:${dir}:${tag}`;
}

/**
 * Builds `count` images in the layout `dir` that share their first `sharedLayers` layers
 * and each have one layer of their own on top.
 *
 * @returns The references `oci:DIR:shared-0` ... `oci:DIR:shared-{count-1}`.
 */
export async function buildImagesSharingLayers(
  dir: string,
  count: number,
  sharedLayers: number,
  layerKiB = 1024,
): Promise<string[]> {
  await buildMultiLayerImage(dir, { layers: sharedLayers, smallLayerKiB: layerKiB, tag: 'base' });
  const refs: string[] = [];
  for (let i = 0; i < count; i++) {
    await insertRandomLayer(dir, 'base', layerKiB * 1024, `own-${i}.bin`, `shared-${i}`);
    refs.push(`oci:${dir}:shared-${i}`);
  }
  return refs;
}

/** Reads and parses `index.json` of a layout. */
async function readIndexJson(dir: string): Promise<IndexJson> {
  return JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as IndexJson;
}

/** Finds the index.json descriptor tagged `tag`. */
async function taggedDescriptor(dir: string, tag: string): Promise<Descriptor> {
  const index = await readIndexJson(dir);
  const found = index.manifests.find((d) => d.annotations?.[REF_NAME] === tag);
  if (found === undefined) throw new Error(`tag ${tag} not found in ${dir}/index.json`);
  return found;
}

/** Stores `content` as a blob of the layout and returns its descriptor. */
async function writeBlob(dir: string, mediaType: string, content: Buffer): Promise<Descriptor> {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blobPath(dir, digest), content);
  return { mediaType, digest, size: content.length };
}

/** Points `tag` in the layout's index.json at `descriptor` (replacing an older entry). */
async function setTag(dir: string, tag: string, descriptor: Descriptor): Promise<void> {
  const index = await readIndexJson(dir);
  index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag);
  index.manifests.push({ ...descriptor, annotations: { [REF_NAME]: tag } });
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/**
 * Builds a two-platform image in the layout `dir`: a linux/amd64 and a linux/arm64 image
 * (two small layers each, tagged `TAG-amd64` and `TAG-arm64`) and an OCI image index
 * referencing both with their `platform`, tagged `TAG`. `skopeo copy --all` pushes it as an
 * index.
 *
 * @returns The reference `oci:DIR:TAG` of the index.
 */
export async function buildTwoPlatformIndex(dir: string, tag = 'multiarch'): Promise<string> {
  const platforms = ['amd64', 'arm64'];
  const manifests: Descriptor[] = [];
  for (const architecture of platforms) {
    const ref = await buildMultiLayerImage(dir, {
      layers: 2,
      smallLayerKiB: 128,
      tag: `${tag}-${architecture}`,
      architecture,
    });
    const desc = await taggedDescriptor(dir, parseOciRef(ref).tag);
    manifests.push({
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      platform: { architecture, os: 'linux' },
    });
  }
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  const descriptor = await writeBlob(dir, OCI_INDEX, Buffer.from(JSON.stringify(index)));
  await setTag(dir, tag, descriptor);
  return `oci:${dir}:${tag}`;
}

/**
 * Builds an image without any layer (`umoci new` only) in the layout `dir`.
 *
 * @returns The reference `oci:DIR:TAG`.
 */
export async function buildZeroLayerImage(dir: string, tag = 'empty'): Promise<string> {
  await initLayout(dir);
  await run(umoci(), ['new', '--image', `${dir}:${tag}`]);
  return `oci:${dir}:${tag}`;
}

/**
 * Builds an image whose layers are zstd-compressed (`...tar+zstd`) in the layout `dir`:
 * a gzip image is built in a scratch layout and recompressed by
 * `skopeo copy --dest-compress-format zstd` into `dir`.
 *
 * @returns The reference `oci:DIR:TAG`.
 */
export async function buildZstdImage(dir: string, tag = 'zstd'): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), 'berth-zstd-src-'));
  try {
    const src = await buildMultiLayerImage(join(scratch, 'layout'), { layers: 2, tag });
    await initLayout(dir);
    // Recompression changes digests, so this copy goes without --preserve-digests.
    const dst = `oci:${dir}:${tag}`;
    await skopeo(['copy', '--quiet', '--dest-compress-format', 'zstd', src, dst]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const ref = `oci:${dir}:${tag}`;
  const image = await describeImage(ref);
  const layers = image.manifests[0]?.layers ?? [];
  if (layers.length === 0 || layers.some((l) => l.mediaType !== OCI_LAYER_ZSTD)) {
    throw new Error(`skopeo did not write zstd layers: ${JSON.stringify(layers)}`);
  }
  return ref;
}

/**
 * Builds a Docker schema 2 (v2s2) image, with Docker media types for manifest, config and
 * layers, in skopeo's directory transport at `dir` (which must not exist yet), by
 * `skopeo copy --format v2s2` of a fresh OCI image.
 *
 * An OCI layout cannot be used: skopeo 1.9 writes a v2s2 manifest into one, but its `oci:`
 * source only finds descriptors of OCI media types ("no descriptor found for reference").
 *
 * @returns The reference `dir:DIR`.
 */
export async function buildV2s2Image(dir: string): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), 'berth-v2s2-src-'));
  try {
    const src = await buildMultiLayerImage(join(scratch, 'layout'), { layers: 2 });
    // A format conversion changes digests, so this copy goes without --preserve-digests.
    await skopeo(['copy', '--quiet', '--format', 'v2s2', src, `dir:${dir}`]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return `dir:${dir}`;
}

/** One image manifest of a {@link LayoutImage}. */
export interface ImageManifestInfo {
  digest: string;
  mediaType: string;
  platform?: { architecture: string; os: string; variant?: string };
  config: Descriptor;
  layers: Descriptor[];
}

/** What a tag of a layout holds, for comparing an image before a push and after a pull. */
export interface LayoutImage {
  /** Digest of the tagged manifest or index. */
  digest: string;
  /** Media type of the tagged manifest or index. */
  mediaType: string;
  /** Every image manifest reachable from the tag (one, or one per platform). */
  manifests: ImageManifestInfo[];
  /** Every blob digest reachable from the tag (indexes, manifests, configs, layers), sorted. */
  blobs: string[];
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Reads what an image reference holds (`oci:DIR:TAG`, or `dir:DIR` for skopeo's directory
 * transport), checking that every reachable blob is present, has the size of its
 * descriptor and hashes to its digest.
 *
 * @throws Error if a blob is missing or corrupt, or a media type is unknown.
 */
export async function describeImage(ref: string): Promise<LayoutImage> {
  let top: Descriptor;
  let fileOf: (digest: string) => string;
  if (ref.startsWith('dir:')) {
    const dir = ref.slice('dir:'.length);
    const manifestFile = join(dir, 'manifest.json');
    const raw = await readFile(manifestFile);
    const parsed = JSON.parse(raw.toString('utf8')) as { mediaType?: string };
    const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    top = { mediaType: parsed.mediaType ?? OCI_MANIFEST, digest, size: raw.length };
    fileOf = (d) => (d === digest ? manifestFile : join(dir, d.slice('sha256:'.length)));
  } else {
    const { dir, tag } = parseOciRef(ref);
    top = await taggedDescriptor(dir, tag);
    fileOf = (d) => blobPath(dir, d);
  }
  const blobs = new Set<string>();
  const manifests: ImageManifestInfo[] = [];

  const check = async (desc: Descriptor): Promise<void> => {
    const file = fileOf(desc.digest);
    const actual = await sha256File(file);
    if (actual !== desc.digest)
      throw new Error(`blob ${desc.digest} (${file}) hashes to ${actual}`);
    const bytes = (await stat(file)).size;
    if (bytes !== desc.size)
      throw new Error(`blob ${desc.digest}: ${bytes} bytes, not ${desc.size}`);
    blobs.add(desc.digest);
  };

  const visit = async (desc: Descriptor): Promise<void> => {
    await check(desc);
    const body = JSON.parse(await readFile(fileOf(desc.digest), 'utf8')) as unknown;
    if (desc.mediaType === OCI_INDEX || desc.mediaType === DOCKER_MANIFEST_LIST) {
      for (const child of (body as IndexJson).manifests) await visit(child);
      return;
    }
    if (desc.mediaType !== OCI_MANIFEST && desc.mediaType !== DOCKER_MANIFEST) {
      throw new Error(`unexpected media type ${desc.mediaType} for ${desc.digest}`);
    }
    const manifest = body as ManifestJson;
    await check(manifest.config);
    for (const layer of manifest.layers) await check(layer);
    manifests.push({
      digest: desc.digest,
      mediaType: desc.mediaType,
      ...(desc.platform === undefined ? {} : { platform: desc.platform }),
      config: manifest.config,
      layers: manifest.layers,
    });
  };

  await visit(top);
  return { digest: top.digest, mediaType: top.mediaType, manifests, blobs: [...blobs].sort() };
}
