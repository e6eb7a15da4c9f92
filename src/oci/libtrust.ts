/**
 * The libtrust "pretty signature" that signs schema 1 manifests (manifest-v2-1.md "Signed
 * Manifests"; github.com/docker/libtrust jsonsign.go). The signed document is JSON with a
 * `signatures` member appended; each entry is a JWS (RFC 7515 section 7.2 general form,
 * without `payload`) whose protected header holds `formatLength` and `formatTail`. The
 * payload that was signed, and whose digest is the manifest's digest, is rebuilt as
 * `document[0:formatLength] + base64url-decode(formatTail)`: the document as it was before
 * the signatures were spliced in.
 *
 * Keys are JWKs (RFC 7517) with libtrust's rules, or the leaf of an `x5c` chain. Algorithms
 * are those of RFC 7518 section 3: ES256/384/512 tied to the key's curve, with the raw r||s
 * signature of section 3.4, and RS256/384/512 (PKCS #1 v1.5). As in libtrust and the
 * reference registry, an `x5c` chain is not checked against any root: the registry stores
 * content whose signatures hold and leaves trust decisions to clients.
 *
 * Verification failures throw `MANIFEST_UNVERIFIED` with a detail; misuse of the signing
 * side (a payload that is not a JSON object, an unusable key) throws `TypeError`.
 */
import {
  createHash,
  createPublicKey,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { RegistryError } from '../errors/registry-error.js';
import { canonicalize } from './canonical-json.js';

type Json = Record<string, unknown>;

/** A key that signs, with the certificate chain to show instead of its JWK. */
export interface JwsSigner {
  /** An EC (P-256, P-384, P-521) or RSA private key. */
  key: KeyObject;
  /** Base64 (not base64url) DER certificates, leaf first; the leaf must hold `key`'s public key. */
  x5c?: readonly string[];
}

/** How a key signs: the JWS `alg`, its hash, and for EC the size of r and of s. */
interface Algorithm {
  alg: string;
  hash: string;
  ecOctets?: number;
}

// RFC 7518 section 3.4: each EC curve has one algorithm, its hash sized to the curve.
const ecCurves: Record<string, { crv: string } & Required<Algorithm>> = {
  prime256v1: { crv: 'P-256', alg: 'ES256', hash: 'sha256', ecOctets: 32 },
  secp384r1: { crv: 'P-384', alg: 'ES384', hash: 'sha384', ecOctets: 48 },
  secp521r1: { crv: 'P-521', alg: 'ES512', hash: 'sha512', ecOctets: 66 },
};
const rsaAlgorithms: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };

function unverified(detail: string): RegistryError {
  return new RegistryError('MANIFEST_UNVERIFIED', detail);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Unpadded base64url (RFC 7515 section 2). */
export function base64UrlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes base64url with or without padding, or returns null. Node's decoder skips
 * characters outside the alphabet, so the text is checked first; spaces and newlines are
 * dropped first, as libtrust does.
 */
export function base64UrlDecode(text: string): Buffer | null {
  const compact = text.replace(/[ \n]/g, '');
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(compact)) return null;
  const bare = compact.replace(/=+$/, '');
  if (bare.length % 4 === 1) return null;
  return Buffer.from(bare, 'base64url');
}

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The libtrust key ID: SHA-256 of the key's DER SubjectPublicKeyInfo, its first 240 bits
 * in RFC 4648 base32, as twelve groups of four joined by `:`.
 */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const hash = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' }));
  const bits = hash.digest().subarray(0, 30);
  let text = '';
  for (let bit = 0; bit < bits.length * 8; bit += 5) {
    const byte = bit >> 3;
    const pair = ((bits[byte] ?? 0) << 8) | (bits[byte + 1] ?? 0);
    text += base32Alphabet[(pair >> (11 - (bit & 7))) & 31] ?? '';
  }
  return text.match(/.{4}/g)?.join(':') ?? text;
}

/** The JWS algorithm a key signs with; for RSA, `alg` picks the hash (RS256 by default). */
function algorithmOf(key: KeyObject, alg = 'RS256'): Algorithm | null {
  if (key.asymmetricKeyType === 'ec') {
    return ecCurves[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? null;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const hash = rsaAlgorithms[alg];
    return hash === undefined ? null : { alg, hash };
  }
  return null;
}

/** Imports validated JWK members; OpenSSL still refuses, e.g., a point off the curve. */
function importJwk(members: Record<string, string>): KeyObject {
  try {
    return createPublicKey({ key: members, format: 'jwk' });
  } catch {
    throw new Error('jwk is not a valid public key');
  }
}

/** Reads a JWK the way libtrust does: EC or RSA, exact coordinate sizes, `kid` must match. */
function publicKeyFromJwk(jwk: unknown): KeyObject {
  if (!isObject(jwk)) throw new Error('jwk must be an object');
  let key: KeyObject;
  if (jwk['kty'] === 'EC') {
    const curve = Object.values(ecCurves).find((c) => c.crv === jwk['crv']);
    if (curve === undefined) throw new Error('unsupported EC curve');
    const [x, y] = [jwk['x'], jwk['y']].map((c) =>
      typeof c === 'string' ? base64UrlDecode(c) : null,
    );
    if (x?.length !== curve.ecOctets || y?.length !== curve.ecOctets) {
      throw new Error('EC coordinates must be base64url of the curve size');
    }
    const point = { kty: 'EC', crv: curve.crv, x: base64UrlEncode(x), y: base64UrlEncode(y) };
    key = importJwk(point);
  } else if (jwk['kty'] === 'RSA') {
    const [n, e] = [jwk['n'], jwk['e']].map((c) =>
      typeof c === 'string' ? base64UrlDecode(c) : null,
    );
    if (!n?.length || !e?.length) {
      throw new Error('RSA n and e must be base64url');
    }
    const params = { kty: 'RSA', n: base64UrlEncode(n), e: base64UrlEncode(e) };
    key = importJwk(params);
  } else {
    throw new Error('kty must be EC or RSA');
  }
  if (jwk['kid'] !== undefined && jwk['kid'] !== keyId(key)) {
    throw new Error('kid does not match the key');
  }
  return key;
}

/** The public key of a signature's header: the leaf of `x5c` when present, else `jwk`. */
function headerKey(header: Json): KeyObject {
  const chain = header['x5c'];
  if (Array.isArray(chain) && chain.length > 0) {
    const leaf: unknown = chain[0];
    if (typeof leaf !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(leaf)) {
      throw new Error('x5c entries must be base64 DER certificates');
    }
    try {
      return new X509Certificate(Buffer.from(leaf, 'base64')).publicKey;
    } catch {
      throw new Error('x5c leaf is not a certificate');
    }
  }
  if (header['jwk'] !== undefined) return publicKeyFromJwk(header['jwk']);
  throw new Error('header has neither jwk nor x5c');
}

/** Checks one JWS of the `signatures` list over `payload`; throws the reason otherwise. */
function verifyOne(entry: Json, payload: Buffer): void {
  const { header, signature } = entry;
  if (!isObject(header) || typeof header['alg'] !== 'string') {
    throw new Error('header with alg is required');
  }
  const key = headerKey(header);
  const algorithm = algorithmOf(key, header['alg']);
  if (algorithm?.alg !== header['alg']) {
    throw new Error(`alg ${header['alg']} does not fit the key`);
  }
  const bytes = typeof signature === 'string' ? base64UrlDecode(signature) : null;
  if (bytes === null) throw new Error('signature must be base64url');
  if (algorithm.ecOctets !== undefined && bytes.length !== 2 * algorithm.ecOctets) {
    throw new Error('EC signature must be r||s of the curve size');
  }

  const input = Buffer.from(`${entry['protected'] as string}.${base64UrlEncode(payload)}`);
  const dsaEncoding = algorithm.ecOctets === undefined ? undefined : 'ieee-p1363';
  let valid: boolean;
  try {
    valid = verify(algorithm.hash, input, { key, dsaEncoding }, bytes);
  } catch {
    valid = false; // OpenSSL refuses some malformed signatures instead of returning false
  }
  if (!valid) throw new Error('invalid signature');
}

/** Reads `formatLength` and `formatTail` from one entry's protected header. */
function readFormat(entry: unknown): { length: number; tail: Buffer } {
  if (!isObject(entry)) throw new Error('must be an object');
  const encoded = entry['protected'];
  const decoded = typeof encoded === 'string' ? base64UrlDecode(encoded) : null;
  if (decoded === null) throw new Error('protected must be base64url');
  let header: unknown;
  try {
    header = JSON.parse(decoded.toString('utf8'));
  } catch {
    throw new Error('protected header is not JSON');
  }
  if (!isObject(header)) throw new Error('protected header must be an object');
  const { formatLength: length, formatTail } = header;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new Error('formatLength must be a non-negative integer');
  }
  const tail = typeof formatTail === 'string' ? base64UrlDecode(formatTail) : null;
  if (tail === null) throw new Error('formatTail must be base64url');
  return { length, tail };
}

/**
 * Verifies every entry of a pretty-signed document's `signatures` list and returns the
 * payload they sign. All entries must name the same `formatLength` and `formatTail` (one
 * payload, as libtrust requires) and all must verify; an empty or missing list is refused.
 * Throws `MANIFEST_UNVERIFIED` naming the first entry that fails.
 */
export function verifyPrettySignatures(document: Buffer, signatures: unknown): Buffer {
  if (signatures === undefined) throw unverified('the manifest has no signatures');
  if (!Array.isArray(signatures)) throw unverified('signatures must be a list');
  if (signatures.length === 0) throw unverified('the manifest has no signatures');

  const list = signatures as unknown[];
  const formats = list.map((entry, i) => {
    try {
      return readFormat(entry);
    } catch (err) {
      throw unverified(`signatures[${i}]: ${(err as Error).message}`);
    }
  });
  const [format] = formats;
  if (format === undefined || format.length > document.length) {
    throw unverified('formatLength is past the end of the manifest');
  }
  // One payload for all: libtrust refuses entries that disagree on how to rebuild it.
  if (formats.some((f) => f.length !== format.length || !f.tail.equals(format.tail))) {
    throw unverified('signatures disagree on formatLength or formatTail');
  }
  const payload = Buffer.concat([document.subarray(0, format.length), format.tail]);

  list.forEach((entry, i) => {
    try {
      verifyOne(entry as Json, payload);
    } catch (err) {
      throw unverified(`signatures[${i}]: ${(err as Error).message}`);
    }
  });
  return payload;
}

/**
 * Escapes what Go's encoder escapes and `JSON.stringify` does not (json.md rule 6, plus
 * U+2028 and U+2029). Safe on whole JSON text: these characters only occur inside strings.
 */
export function escapeLikeGo(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Index of the last byte before `end` that is not JSON whitespace, or -1. */
function lastNonSpace(bytes: Buffer, end: number): number {
  let i = end - 1;
  while (i >= 0 && isJsonSpace(bytes[i])) i--;
  return i;
}

/** The JWK libtrust writes for a public key: members sorted, as Go marshals a map. */
function publicJwk(key: KeyObject): Json {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  return JSON.parse(canonicalize({ ...jwk, kid: keyId(publicKey) })) as Json;
}

/** One JWS entry signing `payload` under the protected header `protectedHeader`. */
function signOne(payload: Buffer, protectedHeader: string, signer: JwsSigner): Json {
  const algorithm = algorithmOf(signer.key);
  if (signer.key.type !== 'private' || algorithm === null) {
    throw new TypeError('schema 1 signing needs an EC (P-256/384/521) or RSA private key');
  }
  const input = Buffer.from(`${protectedHeader}.${base64UrlEncode(payload)}`);
  const dsaEncoding = algorithm.ecOctets === undefined ? undefined : 'ieee-p1363';
  const signature = sign(algorithm.hash, input, { key: signer.key, dsaEncoding });
  // libtrust's header struct writes jwk, alg, x5c in that order and omits the empty ones.
  const header =
    signer.x5c === undefined
      ? { jwk: publicJwk(signer.key), alg: algorithm.alg }
      : { alg: algorithm.alg, x5c: [...signer.x5c] };
  return { header, signature: base64UrlEncode(signature), protected: protectedHeader };
}

/**
 * Signs a JSON object document the way libtrust's `NewJSONSignature` + `Sign` +
 * `PrettySignature` do: `formatLength` ends the document just before its closing `}` (and
 * the whitespace before it), `formatTail` holds the rest, and the output is the document up
 * to `formatLength`, then `,` and a `"signatures"` member indented like the document, then
 * `}`. Signatures are listed in the order of `signers`. Throws `TypeError` when `payload` is
 * not a non-empty JSON object or a key cannot sign.
 */
export function prettySign(payload: Buffer, signers: readonly JwsSigner[]): Buffer {
  const close = lastNonSpace(payload, payload.length);
  const last = lastNonSpace(payload, close);
  if (payload[close] !== 0x7d || last < 1 || payload[last] === 0x2c || payload[last] === 0x7b) {
    throw new TypeError('only a non-empty JSON object can carry a pretty signature');
  }
  if (signers.length === 0) throw new TypeError('at least one signer is needed');
  const formatLength = last + 1;
  const formatTail = base64UrlEncode(payload.subarray(formatLength));
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const protectedHeader = base64UrlEncode(
    Buffer.from(canonicalize({ formatLength, formatTail, time })),
  );

  const signatures = signers.map((signer) => signOne(payload, protectedHeader, signer));
  const indent = detectIndent(payload);
  const list = escapeLikeGo(JSON.stringify(signatures, null, indent)).replace(/\n/g, `\n${indent}`);
  const member = indent === '' ? `"signatures":${list}` : `\n${indent}"signatures": ${list}\n`;
  return Buffer.concat([payload.subarray(0, formatLength), Buffer.from(`,${member}}`)]);
}

/** libtrust's indent detection: the whitespace between a leading `{\n` and the first `"`. */
function detectIndent(payload: Buffer): string {
  if (payload.length <= 2 || payload[0] !== 0x7b || payload[1] !== 0x0a) return '';
  const quote = payload.indexOf(0x22, 1);
  return quote > 1 ? payload.subarray(2, quote).toString() : '';
}
