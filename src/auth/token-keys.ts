/**
 * The keys a token may be signed with (`auth.token.rootcertbundle`, `auth.token.jwks`) and
 * how a token's header picks one (spec/auth/jwt.md; RFC 7515 sections 4.1.4 and 4.1.6).
 * Nothing in a token header is trusted: an `x5c` chain must lead to a bundle certificate,
 * and a `kid` only selects among configured keys.
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';
import type { Logger } from 'pino';

/** Longest `x5c` chain accepted: real ones have two or three certificates. */
const MAX_CHAIN = 8;

/** The key a header resolves to, as `jwtVerify` takes it. */
export type VerificationKey = KeyObject | CryptoKey | JWK | Uint8Array;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The libtrust key id of a public key, which docker/distribution's token servers put in
 * `kid` (spec/auth/jwt.md): SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32
 * (RFC 4648, 48 characters, no padding), in 12 groups of 4 joined by `:`.
 */
export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest()
    .subarray(0, 30);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31] ?? '';
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return (out.match(/.{4}/g) ?? []).join(':');
}

/** Signals a token whose signing key cannot be found or trusted (never a server fault). */
export class UntrustedKeyError extends Error {
  readonly code = 'ERR_BERTH_UNTRUSTED_KEY';
}

function assertValidNow(cert: X509Certificate, now: number): void {
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
    throw new UntrustedKeyError('certificate outside its validity period');
  }
}

/** PEM blocks of type CERTIFICATE, in file order; other blocks are skipped. */
function parseBundle(pem: string, path: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new Error(`${path}: certificate ${index + 1} cannot be parsed`);
    }
  });
}

/** Members of private and symmetric JWKs: a verifier needs none of them. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function parseJwks(text: string, path: string, log: Logger): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys))
    throw new Error(`${path}: expected a JSON Web Key Set ({"keys": [...]})`);
  const usable: JWK[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null) continue;
    const jwk = { ...(key as JWK) };
    if (jwk.kty === 'oct') {
      // A shared secret could only verify HMAC tokens, which are refused.
      log.warn({ path, kid: jwk.kid }, 'jwks key ignored, symmetric keys are not accepted');
      continue;
    }
    for (const member of SECRET_MEMBERS) Reflect.deleteProperty(jwk, member);
    usable.push(jwk);
  }
  return { keys: usable };
}

/**
 * The trusted signing keys, and {@link TrustedKeys.resolve}, the key resolver `jwtVerify`
 * calls with a token's protected header.
 */
export class TrustedKeys {
  readonly #bundle: X509Certificate[];
  /** Fingerprint (SHA-256 of the DER) of every bundle certificate, to spot chain anchors. */
  readonly #anchors: Set<string>;
  /** libtrust key id and RFC 7638 thumbprint → bundle certificate. */
  readonly #byKid: Map<string, X509Certificate>;
  readonly #jwks: ReturnType<typeof createLocalJWKSet> | undefined;

  private constructor(
    bundle: X509Certificate[],
    byKid: Map<string, X509Certificate>,
    jwks: JSONWebKeySet | undefined,
  ) {
    this.#bundle = bundle;
    this.#anchors = new Set(bundle.map((cert) => cert.fingerprint256));
    this.#byKid = byKid;
    this.#jwks = jwks === undefined || jwks.keys.length === 0 ? undefined : createLocalJWKSet(jwks);
  }

  /**
   * Reads the bundle and the JWKS file (either may be null, not both). Rejects, naming the
   * file, when one cannot be read or parsed, or when together they hold no key. JWKS private
   * members are dropped and symmetric keys ignored with a warning.
   */
  static async load(
    rootcertbundle: string | null,
    jwksPath: string | null,
    log: Logger,
  ): Promise<TrustedKeys> {
    const bundle =
      rootcertbundle === null
        ? []
        : parseBundle(await readFile(rootcertbundle, 'utf8'), rootcertbundle);
    const jwks =
      jwksPath === null ? undefined : parseJwks(await readFile(jwksPath, 'utf8'), jwksPath, log);
    if (bundle.length === 0 && (jwks?.keys.length ?? 0) === 0) {
      throw new Error('token auth has no signing key: rootcertbundle and jwks hold none');
    }

    const byKid = new Map<string, X509Certificate>();
    for (const cert of bundle) {
      byKid.set(libtrustKeyId(cert.publicKey), cert);
      // Current token servers (and the reference since v3) use the RFC 7638 thumbprint.
      byKid.set(await calculateJwkThumbprint(await exportJWK(cert.publicKey)), cert);
    }
    return new TrustedKeys(bundle, byKid, jwks);
  }

  /**
   * Picks the key for a token header, in this order: an `x5c` chain verified up to a bundle
   * certificate (its leaf's key); a `kid` naming a bundle certificate (by libtrust id or
   * RFC 7638 thumbprint) or a JWKS key; with neither, the bundle's only certificate or the
   * JWKS key matching the algorithm. An embedded `jwk` header is never trusted by itself.
   * Throws {@link UntrustedKeyError} (or jose's JWKS errors) when no trusted key fits.
   */
  readonly resolve = async (
    header: JWTHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<VerificationKey> => {
    if (header.x5c !== undefined) return this.#verifyChain(header.x5c, Date.now());
    if (header.kid !== undefined) {
      const cert = this.#byKid.get(header.kid);
      if (cert !== undefined) return cert.publicKey;
    } else if (this.#bundle.length === 1 && this.#bundle[0] !== undefined) {
      return this.#bundle[0].publicKey;
    }
    if (this.#jwks === undefined) throw new UntrustedKeyError('no trusted key for the token');
    return this.#jwks(header, token);
  };

  /**
   * RFC 7515 section 4.1.6: the leaf first, each certificate certified by the next. The
   * chain is trusted from the first certificate that is itself in the bundle, or whose
   * issuer is; every certificate on the way must be within its validity period, and every
   * issuer a CA whose key verifies the certificate below it.
   *
   * Known gaps, as in the reference: no revocation check (CRL, OCSP). Unlike Go's verifier,
   * path-length and name constraints and extended key usage are not checked either: the
   * bundle is expected to hold the token server's own CA, not a public one.
   */
  #verifyChain(x5c: unknown, now: number): KeyObject {
    if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN) {
      throw new UntrustedKeyError('x5c is not a certificate chain');
    }
    const chain = (x5c as unknown[]).map((entry) => {
      if (typeof entry !== 'string') throw new UntrustedKeyError('x5c entry is not a string');
      try {
        return new X509Certificate(Buffer.from(entry, 'base64'));
      } catch {
        throw new UntrustedKeyError('x5c entry is not a certificate');
      }
    });
    const leaf = chain[0];
    if (leaf === undefined) throw new UntrustedKeyError('x5c is empty');

    for (const [index, cert] of chain.entries()) {
      assertValidNow(cert, now);
      if (this.#anchors.has(cert.fingerprint256)) return leaf.publicKey;
      const next = chain[index + 1];
      if (next !== undefined) {
        if (!issues(next, cert)) throw new UntrustedKeyError('x5c chain is broken');
        continue;
      }
      const root = this.#bundle.find((candidate) => issues(candidate, cert));
      if (root === undefined) throw new UntrustedKeyError('x5c chain has no trusted root');
      assertValidNow(root, now);
      return leaf.publicKey;
    }
    throw new UntrustedKeyError('x5c chain has no trusted root');
  }
}

/** Whether `issuer` is a CA that issued and signed `cert`. */
function issues(issuer: X509Certificate, cert: X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}
