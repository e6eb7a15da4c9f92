/**
 * Docker image manifest v2, schema 1 (distribution spec manifest-v2-1.md): checks done
 * before such a manifest is stored, and the signing the tests use to make one.
 *
 * The digest of a schema 1 manifest is the digest of `Schema1Info.payload`:
 * - signed (`...v1+prettyjws`, or any body with `signatures`): the payload the libtrust
 *   signatures sign, `body[0:formatLength] + formatTail`, which is the manifest as it was
 *   before `signatures` was spliced in. The reference registry hashes exactly this (schema1
 *   `SignedManifest.Canonical`, the `Payload()` of libtrust's `ParsePrettySignature`), so a
 *   manifest keeps its digest however it is re-signed, and so do containers/image and moby.
 *   The manifest's fields are read from this payload too, never from the rest of the body.
 * - unsigned (`...v1+json`): the bytes as sent. The reference registry refuses unsigned
 *   schema 1 (every schema 1 body goes through `ParsePrettySignature`); Berth accepts it
 *   with the digest clients compute for it (containers/image `manifest.Digest`), which is
 *   also the digest the same manifest would have once signed.
 * Pure: no I/O, so it runs in the worker pool.
 */
import type { KeyObject } from 'node:crypto';
import { RegistryError } from '../errors/registry-error.js';
import { tryParseDigest } from './digest.js';
import { escapeLikeGo, prettySign, verifyPrettySignatures, type JwsSigner } from './libtrust.js';

export type { JwsSigner as Schema1Signer } from './libtrust.js';

/** What the core needs to know of a schema 1 manifest to store it. */
export interface Schema1Info {
  /** The bytes whose digest is the manifest's digest (see the module comment). */
  payload: Buffer;
  /** The `fsLayers` blobSums, first occurrence order, without repeats. */
  blobs: string[];
  /** The `name` field: the repository the manifest was made for. */
  name: string;
  /** The `tag` field. */
  tag: string;
}

type Json = Record<string, unknown>;

function invalid(detail: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', detail);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(bytes: Buffer, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
  if (!isObject(value)) throw invalid(`${what} must be a JSON object`);
  return value;
}

/** Checks the manifest fields of manifest-v2-1.md and lists its layer blobs. */
function checkFields(manifest: Json): Omit<Schema1Info, 'payload'> {
  const { schemaVersion, name, tag, architecture, fsLayers, history } = manifest;
  if (schemaVersion !== 1) throw invalid('schemaVersion must be 1');
  if (typeof name !== 'string' || name === '') throw invalid('name is required');
  if (typeof tag !== 'string') throw invalid('tag must be a string');
  if (typeof architecture !== 'string') throw invalid('architecture must be a string');
  // The spec says nothing of empty lists, but history[0] is the image's configuration:
  // without it there is no image, and clients (containers/image) refuse such a manifest.
  if (!Array.isArray(fsLayers) || fsLayers.length === 0) {
    throw invalid('fsLayers must be a non-empty array');
  }
  // manifest-v2-1.md: "the length of history must be equal to the length of fsLayers".
  if (!Array.isArray(history) || history.length !== fsLayers.length) {
    throw invalid('history must have one entry per fsLayers entry');
  }

  const blobs = new Set<string>();
  (fsLayers as unknown[]).forEach((layer, i) => {
    const blobSum = isObject(layer) ? layer['blobSum'] : undefined;
    // manifest-v2-1.md, fsLayers: "A digest must be a sha256 hash."
    if (typeof blobSum !== 'string' || tryParseDigest(blobSum)?.algorithm !== 'sha256') {
      throw invalid(`fsLayers[${i}].blobSum must be a sha256 digest`);
    }
    blobs.add(blobSum);
  });
  (history as unknown[]).forEach((entry, i) => {
    if (!isObject(entry) || typeof entry['v1Compatibility'] !== 'string') {
      throw invalid(`history[${i}].v1Compatibility must be a string`);
    }
  });
  return { blobs: [...blobs], name, tag };
}

/**
 * Checks a schema 1 manifest body. `signed` is true when it was sent as
 * `application/vnd.docker.distribution.manifest.v1+prettyjws`; a body with a `signatures`
 * member is treated as signed whatever its type. For a signed manifest every signature
 * must verify, and there must be at least one, else `MANIFEST_UNVERIFIED`; the fields are
 * then checked on the signed payload. Anything malformed throws `MANIFEST_INVALID`.
 * The returned `payload` of an unsigned manifest shares memory with `bytes`.
 * The caller still compares `name` with the repository and checks that the blobs exist.
 */
export function verifySchema1(bytes: Uint8Array, signed: boolean): Schema1Info {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const document = parseObject(body, 'manifest');

  let payload = body;
  if (signed || document['signatures'] !== undefined) {
    payload = verifyPrettySignatures(body, document['signatures']);
  }
  const manifest = payload === body ? document : parseObject(payload, 'signed payload');
  return { payload, ...checkFields(manifest) };
}

/**
 * Signs a schema 1 manifest as docker and the reference registry do: the manifest is
 * written as Go's `json.MarshalIndent(m, "", "   ")` would write it (3-space indent, members
 * in the order given, `<`, `>`, `&` escaped) and signed by libtrust with `key`, showing
 * `options.x5c` instead of the key's JWK when given. Returns the prettyjws body; its
 * digest payload is the manifest text without `signatures`. Throws `TypeError` for a key
 * that cannot sign (EC P-256/384/521 and RSA can) or a manifest that is not a non-empty
 * object.
 */
export function signSchema1(
  manifest: object,
  key: KeyObject,
  options: { x5c?: string[] } = {},
): Buffer {
  const signer: JwsSigner = options.x5c === undefined ? { key } : { key, x5c: options.x5c };
  return signSchema1Payload(prettyPayload(manifest), [signer]);
}

/**
 * Signs exact manifest bytes, a JSON object, with one or more keys; the bytes stay the
 * payload, so the digest does not change. This is how the reference registry serves a
 * stored schema 1 manifest: it re-signs the stored payload with its own key. Throws
 * `TypeError` like `signSchema1`.
 */
export function signSchema1Payload(payload: Uint8Array, signers: readonly JwsSigner[]): Buffer {
  return prettySign(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), signers);
}

/** The manifest as Go's `json.MarshalIndent(m, "", "   ")` writes it. */
export function prettyPayload(manifest: object): Buffer {
  return Buffer.from(escapeLikeGo(JSON.stringify(manifest, null, 3)));
}
