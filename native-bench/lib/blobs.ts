/**
 * Test content: random blobs with correct digests, each one distinct, and OCI manifests
 * that reference them.
 *
 * Hashing every blob of 256 MiB on the client would cost as much CPU as the server spends,
 * on the same two cores. So a blob is a random body shared by all blobs of a size followed
 * by a random 16-byte tail of its own: the body's SHA-256 state is computed once and cloned
 * (`Hash.copy()`) for each tail, which gives every blob a distinct content and a correct
 * digest for the cost of hashing 16 bytes. The server still receives, hashes and stores
 * every byte, and nothing in a registry deduplicates on a shared prefix.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';

/** Bytes of the per-blob tail that makes each blob distinct. */
export const TAIL_BYTES = 16;

/** A blob ready to send: its content is the concatenation of `parts`. */
export interface Blob {
  digest: string;
  size: number;
  parts: Buffer[];
}

/** A reference to stored content, as a manifest names it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

let serial = 0;

/** Makes distinct random blobs of one size. */
export class BlobFactory {
  readonly #body: Buffer;
  readonly #state: Hash;

  /**
   * @param size Blob size in bytes (at least {@link TAIL_BYTES}).
   * @param source Random bytes to take the shared body from (a prefix of it); fresh random
   *   bytes when omitted.
   */
  constructor(
    readonly size: number,
    source?: Buffer,
  ) {
    if (size < TAIL_BYTES) throw new Error(`blob size ${size} below ${TAIL_BYTES} bytes`);
    const bodySize = size - TAIL_BYTES;
    if (source !== undefined && source.length < bodySize) {
      throw new Error(`source of ${source.length} bytes is too small for ${size}`);
    }
    this.#body = source === undefined ? randomBytes(bodySize) : source.subarray(0, bodySize);
    this.#state = createHash('sha256').update(this.#body);
  }

  /** A new blob: never equal to any other this process made. */
  next(): Blob {
    const tail = randomBytes(TAIL_BYTES);
    serial += 1;
    tail.writeUInt32BE(serial, 0);
    const digest = `sha256:${this.#state.copy().update(tail).digest('hex')}`;
    return { digest, size: this.size, parts: [this.#body, tail] };
  }
}

/** A blob of arbitrary small content (configs, manifests' referenced JSON). */
export function blobOf(content: Buffer): Blob {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  return { digest, size: content.length, parts: [content] };
}

/** The buffers covering bytes `[start, end)` of the concatenation of `parts`. */
export function sliceParts(parts: readonly Buffer[], start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + part.length);
    if (from < to) out.push(part.subarray(from - offset, to - offset));
    offset += part.length;
  }
  return out;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/**
 * The Accept header containerd sends for a manifest: every manifest and index type, both
 * vocabularies, and a wildcard.
 */
export const FULL_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  '*/*',
].join(', ');

/** An OCI image manifest; `annotations` make otherwise equal manifests distinct. */
export function ociManifest(
  config: Descriptor,
  layers: readonly Descriptor[],
  annotations?: Record<string, string>,
): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers,
    ...(annotations === undefined ? {} : { annotations }),
  };
  return Buffer.from(JSON.stringify(manifest));
}

/** An image config naming its layers, distinct per `label`. */
export function imageConfig(label: string, layers: readonly Blob[]): Blob {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'bench.label': label } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  };
  return blobOf(Buffer.from(JSON.stringify(config)));
}

/** `blob` as a descriptor with the given media type. */
export function describe(blob: Blob, mediaType: string): Descriptor {
  return { mediaType, digest: blob.digest, size: blob.size };
}
