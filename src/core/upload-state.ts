/**
 * The `_state` token carried in upload `Location` URLs, signed with `http.secret` so any
 * replica can trust it (the reference registry does the same). It binds the upload to its
 * repository: a token for one repository's upload is refused on another. The bytes and
 * offset themselves are always read from storage, the source of truth.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RegistryError } from '../errors/registry-error.js';
import type { DigestAlgorithm } from '../oci/digest.js';

/** What a token carries: whose upload it is, and the algorithm its bytes are hashed with. */
export interface UploadState {
  name: string;
  uuid: string;
  offset: number;
  startedAt: string;
  algorithm: DigestAlgorithm;
}

export class UploadStateSigner {
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#secret).update(payload).digest();
  }

  /** A token for the upload's current state. */
  sign(state: UploadState): string {
    const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
    return `${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  /**
   * Checks a token against the upload it arrived for. Throws `BLOB_UPLOAD_INVALID` when it
   * is forged, damaged, or made for another upload.
   */
  verify(token: string, name: string, uuid: string): UploadState {
    const [payload, mac] = token.split('.');
    if (payload === undefined || mac === undefined) throw bad();
    const given = Buffer.from(mac, 'base64url');
    const wanted = this.#mac(payload);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) throw bad();
    let state: UploadState;
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString()) as UploadState;
    } catch {
      throw bad();
    }
    if (state.name !== name || state.uuid !== uuid) throw bad();
    return state;
  }
}

function bad(): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', 'invalid upload state token');
}
