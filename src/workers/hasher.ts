/**
 * Incremental hashing for the digest algorithms Berth supports: sha256 and sha512 through
 * Node's OpenSSL bindings (the fastest here: about 1.3 GiB/s for sha256), blake3 through
 * @napi-rs/blake-hash. Used only in worker threads: the main thread never hashes.
 */
import { createHash, type Hash } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { DigestAlgorithm } from '../oci/digest.js';

/** One running digest computation. */
export interface Hasher {
  readonly algorithm: DigestAlgorithm;
  update(bytes: Buffer): void;
  /** The digest string, `algorithm:hex`. The hasher must not be used afterwards. */
  digest(): string;
}

class NodeHasher implements Hasher {
  readonly #hash: Hash;

  constructor(readonly algorithm: 'sha256' | 'sha512') {
    this.#hash = createHash(algorithm);
  }

  update(bytes: Buffer): void {
    this.#hash.update(bytes);
  }

  digest(): string {
    return `${this.algorithm}:${this.#hash.digest('hex')}`;
  }
}

class Blake3 implements Hasher {
  readonly algorithm = 'blake3';
  readonly #hash = new Blake3Hasher();

  update(bytes: Buffer): void {
    this.#hash.update(bytes);
  }

  digest(): string {
    return `blake3:${this.#hash.digest('hex')}`;
  }
}

/** A new hasher for `algorithm`. */
export function createHasher(algorithm: DigestAlgorithm): Hasher {
  return algorithm === 'blake3' ? new Blake3() : new NodeHasher(algorithm);
}

/** The digest of a whole buffer. */
export function digestOf(algorithm: DigestAlgorithm, bytes: Buffer): string {
  const hasher = createHasher(algorithm);
  hasher.update(bytes);
  return hasher.digest();
}
