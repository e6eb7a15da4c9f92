/**
 * Content digests (OCI image spec, descriptor.md "Digests"): `algorithm:encoded`.
 * Berth computes and accepts sha256, sha512 and blake3; any other algorithm that is well
 * formed is refused as unsupported.
 */
import { RegistryError } from '../errors/registry-error.js';

/** The digest algorithms Berth can compute. */
export type DigestAlgorithm = 'sha256' | 'sha512' | 'blake3';

/** Hex length of each algorithm's encoded part. */
const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128, blake3: 64 };

// descriptor.md grammar: algorithm-component (separator algorithm-component)* ":" encoded
const grammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A parsed, validated digest. */
export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** The canonical string form, `algorithm:hex`. */
  value: string;
}

/** True when `name` is an algorithm Berth computes. */
export function isSupportedAlgorithm(name: string): name is DigestAlgorithm {
  return name === 'sha256' || name === 'sha512' || name === 'blake3';
}

/**
 * Parses a digest string, throwing `DIGEST_INVALID` when it is malformed or uses an
 * algorithm Berth does not support, or when its encoded part is not lowercase hex of the
 * algorithm's length.
 */
export function parseDigest(text: string): Digest {
  if (!grammar.test(text)) throw new RegistryError('DIGEST_INVALID', 'malformed digest');
  const colon = text.indexOf(':');
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!isSupportedAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${algorithm}`);
  }
  if (hex.length !== hexLength[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${algorithm} digest`);
  }
  return { algorithm, hex, value: text };
}

/** Like `parseDigest`, but returns null instead of throwing. */
export function tryParseDigest(text: string): Digest | null {
  try {
    return parseDigest(text);
  } catch {
    return null;
  }
}
