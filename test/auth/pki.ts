/**
 * Keys and certificates for the token tests, made fresh in a temporary directory. Node
 * cannot issue X.509 certificates, so the openssl command line does (a missing openssl
 * fails the tests with the line that installs it).
 */
import { execFile } from 'node:child_process';
import {
  X509Certificate,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);

/** A certificate with its private key. */
export interface Issued {
  key: KeyObject;
  cert: X509Certificate;
  /** The certificate as an `x5c` entry: base64 DER. */
  x5c: string;
}

export interface Pki {
  dir: string;
  /** root.pem + direct.pem: what `rootcertbundle` points at. */
  bundle: string;
  /** direct.pem alone. */
  singleBundle: string;
  /** The JWKS file: an ES384 key, an RSA key, a private-key entry and an HMAC key. */
  jwks: string;
  root: Issued;
  intermediate: Issued;
  /** RSA, issued by the intermediate. */
  leaf: Issued;
  /** EC, issued by the root directly, valid for one day. */
  rootLeaf: Issued;
  /** Issued by rootLeaf, which is not a CA. */
  underNonCa: Issued;
  /** A self-signed Ed25519 certificate in the bundle, used through `kid`. */
  direct: Issued;
  /** A CA outside the bundle, and a leaf it issued. */
  rogueLeaf: Issued;
  rogueRoot: Issued;
  jwksEc: { kid: string; key: KeyObject };
  jwksRsa: { kid: string; key: KeyObject };
  /** An EC key of the same curve as jwksEc, trusted nowhere. */
  stranger: KeyObject;
}

const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
const LEAF_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';

const KEY_ARGS: Record<string, string[]> = {
  ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  rsa: ['-newkey', 'rsa:2048'],
  ed25519: ['-newkey', 'ed25519'],
};

async function load(dir: string, name: string): Promise<Issued> {
  const cert = new X509Certificate(await readFile(join(dir, `${name}.pem`)));
  const key = createPrivateKey(await readFile(join(dir, `${name}.key`)));
  return { key, cert, x5c: cert.raw.toString('base64') };
}

/** Builds the whole set; takes a second or two, mostly RSA key generation. */
export async function makePki(dir: string): Promise<Pki> {
  const openssl = requireTool('openssl', 'openssl');
  await writeFile(join(dir, 'ca.ext'), CA_EXT);
  await writeFile(join(dir, 'leaf.ext'), LEAF_EXT);
  const at = (name: string) => join(dir, name);

  const selfSigned = async (name: string, type: string, days: number) => {
    await run(openssl, [
      'req',
      '-x509',
      ...(KEY_ARGS[type] ?? []),
      '-nodes',
      '-subj',
      `/CN=berth test ${name}`,
      '-days',
      String(days),
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.pem`),
    ]);
    return load(dir, name);
  };
  const issued = async (name: string, type: string, issuer: string, ext: string, days: number) => {
    await run(openssl, [
      'req',
      ...(KEY_ARGS[type] ?? []),
      '-nodes',
      '-subj',
      `/CN=berth test ${name}`,
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.csr`),
    ]);
    await run(openssl, [
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at(`${issuer}.pem`),
      '-CAkey',
      at(`${issuer}.key`),
      '-CAcreateserial',
      '-days',
      String(days),
      '-extfile',
      at(ext),
      '-out',
      at(`${name}.pem`),
    ]);
    return load(dir, name);
  };

  const root = await selfSigned('root', 'ec', 3);
  const direct = await selfSigned('direct', 'ed25519', 3);
  const rogueRoot = await selfSigned('rogue-root', 'ec', 3);
  const intermediate = await issued('intermediate', 'ec', 'root', 'ca.ext', 2);
  const leaf = await issued('leaf', 'rsa', 'intermediate', 'leaf.ext', 1);
  const rootLeaf = await issued('root-leaf', 'ec', 'root', 'leaf.ext', 1);
  const underNonCa = await issued('under-non-ca', 'ec', 'root-leaf', 'leaf.ext', 1);
  const rogueLeaf = await issued('rogue-leaf', 'ec', 'rogue-root', 'leaf.ext', 1);

  const bundle = at('bundle.pem');
  await writeFile(bundle, `${root.cert.toString()}${direct.cert.toString()}`);
  const singleBundle = at('single.pem');
  await writeFile(singleBundle, direct.cert.toString());

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwksEc = { kid: 'jwks-es384', key: ec.privateKey };
  const jwksRsa = { kid: 'jwks-rs256', key: rsa.privateKey };
  const jwks = at('jwks.json');
  await writeFile(
    jwks,
    JSON.stringify({
      keys: [
        { ...ec.publicKey.export({ format: 'jwk' }), kid: jwksEc.kid },
        // A private key by mistake: only its public part may be used.
        { ...rsa.privateKey.export({ format: 'jwk' }), kid: jwksRsa.kid },
        { kty: 'oct', k: Buffer.from('shared secret').toString('base64url'), kid: 'hmac' },
      ],
    }),
  );
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;

  return {
    dir,
    bundle,
    singleBundle,
    jwks,
    root,
    intermediate,
    leaf,
    rootLeaf,
    underNonCa,
    direct,
    rogueLeaf,
    rogueRoot,
    jwksEc,
    jwksRsa,
    stranger,
  };
}
