/**
 * The token signing key: its JWS algorithm, its key id, the optional certificate chain
 * that goes into each token's `x5c` header, and the public JWKS.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';

/** A signing key ready for use. */
export interface SigningKey {
  /** JWS `alg`: RS256, ES256, ES384, ES512 or EdDSA. */
  alg: string;
  /** Key id in the libtrust format (see {@link libtrustKeyId}). */
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Base64 DER certificates, leaf first; empty without a configured certificate. */
  x5c: string[];
}

/** The JSON Web Key Set the server publishes. */
export interface Jwks {
  keys: JWK[];
}

/** A key or certificate that cannot be used, with the reason. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

const curveAlgorithms: Readonly<Record<string, string>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet.charAt((value << (5 - bits)) & 31);
  return out;
}

/**
 * The key id format of docker/libtrust, which jwt.md requires for `kid` and which the
 * reference registry computes for the certificates of its `rootcertbundle`: SHA-256 of the
 * DER SubjectPublicKeyInfo, first 240 bits, base32, twelve groups of four joined by `:`.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return (encoded.match(/.{4}/g) ?? []).join(':');
}

/** The JWS algorithm for a private key, or a KeyError for a key type tokens cannot use. */
function algorithmOf(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      // RFC 7518 section 3.3 requires 2048 bits; jose refuses smaller keys when signing.
      if ((details?.modulusLength ?? 0) < 2048) {
        throw new KeyError('RSA key is shorter than 2048 bits');
      }
      return 'RS256';
    case 'ec': {
      const alg = curveAlgorithms[details?.namedCurve ?? ''];
      if (alg === undefined) {
        throw new KeyError(
          `ECDSA curve ${String(details?.namedCurve)} is not P-256, P-384 or P-521`,
        );
      }
      return alg;
    }
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new KeyError(`key type ${String(key.asymmetricKeyType)} is not RSA, ECDSA or Ed25519`);
  }
}

function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new KeyError('the certificate file holds no PEM certificate');
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw new KeyError(`the certificate file holds an unreadable certificate: ${String(err)}`);
  }
}

/**
 * Builds the signing key from PEM text.
 *
 * @param keyPem - PEM private key (PKCS#8, PKCS#1 or SEC1).
 * @param certificatePem - Optional PEM chain, leaf first; the leaf must certify this key
 *   and each certificate must be issued by the next, since registries verify `x5c` as a
 *   chain up to their root bundle.
 * @throws KeyError naming what is wrong.
 */
export function loadSigningKey(keyPem: string, certificatePem?: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (err) {
    throw new KeyError(`the key file holds no usable private key: ${String(err)}`);
  }
  const alg = algorithmOf(privateKey);
  const publicKey = createPublicKey(privateKey);
  const x5c: string[] = [];
  if (certificatePem !== undefined) {
    const chain = parseCertificates(certificatePem);
    const leafKey = chain[0]?.publicKey.export({ type: 'spki', format: 'der' });
    if (leafKey?.equals(publicKey.export({ type: 'spki', format: 'der' })) !== true) {
      throw new KeyError('the first certificate is not for the signing key');
    }
    for (let i = 0; i + 1 < chain.length; i++) {
      const [cert, issuer] = [chain[i], chain[i + 1]];
      if (cert === undefined || issuer === undefined) continue;
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
        throw new KeyError(`certificate ${i + 1} of the chain is not issued by the next one`);
      }
    }
    for (const cert of chain) x5c.push(cert.raw.toString('base64'));
  }
  return { alg, kid: libtrustKeyId(publicKey), privateKey, publicKey, x5c };
}

/** The public JWKS: one key with its `kid`, `alg`, `use` and, when configured, `x5c`. */
export async function publicJwks(key: SigningKey): Promise<Jwks> {
  const jwk: JWK = { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: key.alg, use: 'sig' };
  if (key.x5c.length > 0) jwk.x5c = key.x5c;
  return { keys: [jwk] };
}
