/**
 * Manifest checks done before a manifest is stored (image-spec manifest.md, image-index.md;
 * Docker manifest-v2-2.md): the body is JSON of a known manifest type, its descriptors are
 * well formed, and the references it makes are listed so the core can check they exist.
 * Pure: no I/O, so it runs in the worker pool.
 */
import { RegistryError } from '../errors/registry-error.js';
import { tryParseDigest } from './digest.js';
import { verifySchema1 } from './schema1.js';
import { imageTypes, indexTypes, mediaTypes, nonDistributableLayerTypes } from './media-types.js';

/** What the core needs to know of a manifest to store it. */
export interface ManifestInfo {
  mediaType: string;
  /** Blobs that must exist in the repository: config and distributable layers. */
  blobs: string[];
  /** The children of an index, with their platforms: manifests that may have to exist. */
  manifests: ManifestChild[];
  /** Layers that name `urls`, for the URL policy (`validation.manifests.urls`). */
  urls: { digest: string; urls: string[] }[];
  /** The digest of `subject`, when there is one. */
  subject?: string;
  /**
   * The artifact type a referrers list shows for this manifest (OCI spec "Listing
   * Referrers"): its `artifactType`, else an image manifest's config media type.
   */
  artifactType?: string;
  /** The manifest's own annotations, shown in referrers lists. */
  annotations?: Record<string, string>;
}

/** One entry of an index. */
export interface ManifestChild {
  digest: string;
  platform?: { os: string; architecture: string };
}

type Json = Record<string, unknown>;

/** Docker's foreign layers: fetched from their `urls`, never from the registry. */
const dockerForeignLayer = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

/** The `urls` of a descriptor: absent, or a list of strings. */
function urlsOf(value: Json, where: string): string[] {
  const urls = value['urls'];
  if (urls === undefined) return [];
  if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) {
    throw invalid(`${where}: urls must be a list of strings`);
  }
  return urls as string[];
}

/** An index entry's `platform` os and architecture, when well formed. */
function platformOf(value: unknown): ManifestChild['platform'] {
  if (!isObject(value) || !isObject(value['platform'])) return undefined;
  const { os, architecture } = value['platform'];
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return { os, architecture };
}

function invalid(detail: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', detail);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one descriptor (descriptor.md) and returns its digest. */
function checkDescriptor(value: unknown, where: string): { digest: string; mediaType: string } {
  if (!isObject(value)) throw invalid(`${where}: descriptor must be an object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw invalid(`${where}: mediaType is required`);
  }
  if (typeof digest !== 'string' || tryParseDigest(digest) === null) {
    throw invalid(`${where}: invalid digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}: size must be a non-negative integer`);
  }
  return { digest, mediaType };
}

/**
 * Decides the manifest's type from its `mediaType` field, the request's Content-Type, or
 * its shape, in that order. A `mediaType` field that contradicts a manifest Content-Type is
 * refused: the stored type must be the one the client meant.
 */
function manifestType(body: Json, contentType: string | undefined): string {
  const declared = body['mediaType'];
  const header = contentType?.split(';')[0]?.trim();
  const headerIsManifest =
    header !== undefined && (imageTypes.has(header) || indexTypes.has(header));
  if (declared !== undefined) {
    if (typeof declared !== 'string') throw invalid('mediaType must be a string');
    if (headerIsManifest && header !== declared) {
      throw invalid(`mediaType ${declared} does not match Content-Type ${header}`);
    }
    return declared;
  }
  if (header === mediaTypes.dockerManifest || header === mediaTypes.dockerManifestList) {
    // Docker's schema 2 requires the field (the reference refuses its absence); without it
    // the bytes alone would read as OCI wherever they are served from storage.
    throw invalid(`mediaType is required in a ${header}`);
  }
  if (headerIsManifest) return header;
  if (Array.isArray(body['manifests'])) return mediaTypes.ociIndex;
  if (body['config'] !== undefined) return mediaTypes.ociManifest;
  throw invalid('cannot tell the manifest type: no mediaType and no known shape');
}

/** What the registry stores a manifest under, and what its digest is computed over. */
export interface CheckedManifest {
  info: ManifestInfo;
  /**
   * The bytes whose digest is the manifest's digest: the body itself, except for signed
   * schema 1, whose digest covers the payload without its signatures (manifest-v2-1.md).
   */
  digestInput: Uint8Array;
  /** For schema 1: the `name` and `tag` the manifest claims, checked against the URL. */
  schema1?: { name: string; tag: string };
}

const schema1Types: ReadonlySet<string> = new Set([
  mediaTypes.dockerSchema1,
  mediaTypes.dockerSchema1Signed,
]);

/**
 * Checks a manifest of any type Berth stores. Docker schema 1 is accepted only when
 * `schema1` is true (`compatibility.schema1.enabled`); otherwise it is `MANIFEST_INVALID`,
 * as the reference registry 3.x answers, having dropped schema 1.
 */
export function checkManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  options: { schema1: boolean },
): CheckedManifest {
  const header = contentType?.split(';')[0]?.trim() ?? '';
  if (schema1Types.has(header) || looksLikeSchema1(bytes)) {
    if (!options.schema1) throw invalid('schema 1 manifests are not supported');
    const signed = header !== mediaTypes.dockerSchema1;
    const checked = verifySchema1(bytes, signed);
    const hasSignatures = checked.payload.byteLength !== bytes.byteLength || signed;
    const mediaType = hasSignatures ? mediaTypes.dockerSchema1Signed : mediaTypes.dockerSchema1;
    return {
      info: { mediaType, blobs: checked.blobs, manifests: [], urls: [] },
      digestInput: checked.payload,
      schema1: { name: checked.name, tag: checked.tag },
    };
  }
  return { info: inspectManifest(bytes, contentType), digestInput: bytes };
}

/** True when the body declares `schemaVersion: 1` (cheap look before a full parse). */
function looksLikeSchema1(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 4096));
  return /"schemaVersion"\s*:\s*1\s*[,}]/.test(text.toString());
}

/**
 * Parses and checks a schema 2 or OCI manifest body. Throws `MANIFEST_INVALID` (with a
 * detail naming the problem) for anything that is not a well-formed manifest of those types.
 */
export function inspectManifest(bytes: Uint8Array, contentType: string | undefined): ManifestInfo {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isObject(body)) throw invalid('manifest must be a JSON object');

  const mediaType = manifestType(body, contentType);
  if (schema1Types.has(mediaType)) {
    throw invalid('schema 1 manifests are not supported');
  }
  if (!imageTypes.has(mediaType) && !indexTypes.has(mediaType)) {
    throw invalid(`unknown manifest media type ${mediaType}`);
  }
  if (body['schemaVersion'] !== 2) throw invalid('schemaVersion must be 2');

  const info: ManifestInfo = { mediaType, blobs: [], manifests: [], urls: [] };
  if (imageTypes.has(mediaType)) {
    info.blobs.push(checkDescriptor(body['config'], 'config').digest);
    const layers = body['layers'];
    if (!Array.isArray(layers)) throw invalid('layers must be an array');
    layers.forEach((layer: unknown, i) => {
      const where = `layers[${i}]`;
      const { digest, mediaType: layerType } = checkDescriptor(layer, where);
      const urls = urlsOf(layer as Json, where);
      if (urls.length > 0) info.urls.push({ digest, urls });
      // Docker foreign layers live only at their URLs (manifest-v2-2.md), so they need one.
      if (layerType === dockerForeignLayer && urls.length === 0) {
        throw invalid(`${where}: foreign layer without urls`);
      }
      // A non-distributable layer with URLs is fetched from them, not from the registry
      // (layer.md); without URLs it must be here like any other.
      if (!(nonDistributableLayerTypes.has(layerType) && urls.length > 0)) info.blobs.push(digest);
    });
  } else {
    const manifests = body['manifests'];
    if (!Array.isArray(manifests)) throw invalid('manifests must be an array');
    manifests.forEach((child: unknown, i) => {
      const { digest } = checkDescriptor(child, `manifests[${i}]`);
      const platform = platformOf(child);
      info.manifests.push(platform === undefined ? { digest } : { digest, platform });
    });
  }
  if (body['subject'] !== undefined) {
    info.subject = checkDescriptor(body['subject'], 'subject').digest;
  }
  describeArtifact(body, info);
  return info;
}

/** Fills the fields a referrers list needs, checking their types on the way. */
function describeArtifact(body: Json, info: ManifestInfo): void {
  const artifactType = body['artifactType'];
  if (artifactType !== undefined && typeof artifactType !== 'string') {
    throw invalid('artifactType must be a string');
  }
  const config = body['config'];
  if (artifactType !== undefined && artifactType !== '') {
    info.artifactType = artifactType;
  } else if (imageTypes.has(info.mediaType) && isObject(config)) {
    info.artifactType = config['mediaType'] as string;
  }
  const annotations = body['annotations'];
  if (annotations === undefined) return;
  if (!isObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string')) {
    throw invalid('annotations must map strings to strings');
  }
  info.annotations = annotations as Record<string, string>;
}
