/**
 * Key material and user files for token authentication tests: private keys, a test CA and
 * certificates made with the `openssl` CLI (3.0 here) in a directory the caller owns, and
 * htpasswd files of bcrypt entries.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { requireTool, run } from './tools.js';

/** Key types the token server signs with. */
export type KeyKind = 'rsa' | 'ec256' | 'ec384' | 'ec521' | 'ed25519';

const genpkeyArgs: Record<KeyKind, string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  ec256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ec384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ec521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  ed25519: ['-algorithm', 'ED25519'],
};

function openssl(args: string[]): Promise<unknown> {
  return run(requireTool('openssl', 'openssl'), args);
}

/**
 * Writes a new PKCS#8 PEM private key `<name>.key` into `dir`.
 *
 * @param extra - More `genpkey` arguments (e.g. a smaller RSA size for a refusal test).
 * @returns The key file's path.
 */
export async function makeKey(
  dir: string,
  kind: KeyKind,
  name = 'token',
  extra: string[] = [],
): Promise<string> {
  const file = join(dir, `${name}.key`);
  await openssl(['genpkey', ...genpkeyArgs[kind], ...extra, '-out', file]);
  return file;
}

/** A certificate and the key it certifies. */
export interface CertPair {
  key: string;
  cert: string;
}

/** Makes a self-signed CA certificate `<name>.crt` (and `<name>.key`, EC P-256) in `dir`. */
export async function makeCa(dir: string, name = 'ca'): Promise<CertPair> {
  const key = await makeKey(dir, 'ec256', name);
  const cert = join(dir, `${name}.crt`);
  await openssl([
    ...['req', '-x509', '-new', '-key', key, '-days', '2', '-out', cert],
    ...['-subj', `/CN=Berth test ${name}`],
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
  return { key, cert };
}

/**
 * Certifies `key` with `issuer` (or self-signs it without one) and writes `<name>.crt`.
 *
 * @returns The certificate file's path.
 */
export async function makeCert(
  dir: string,
  key: string,
  issuer?: CertPair,
  name = 'token',
): Promise<string> {
  const cert = join(dir, `${name}.crt`);
  const subject = ['-subj', `/CN=Berth test ${name} signer`];
  if (issuer === undefined) {
    await openssl(['req', '-x509', '-new', '-key', key, '-days', '2', '-out', cert, ...subject]);
    return cert;
  }
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  await openssl(['req', '-new', '-key', key, '-out', csr, ...subject]);
  await openssl([
    ...['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key],
    ...['-set_serial', String(Date.now()), '-days', '2', '-extfile', ext, '-out', cert],
  ]);
  return cert;
}

interface Bcrypt {
  hash(data: string, rounds: number): Promise<string>;
}

/** The bcrypt package ships no type declarations; only `hash` is needed here. */
const bcrypt = createRequire(import.meta.url)('bcrypt') as Bcrypt;

/**
 * Writes an htpasswd file of bcrypt entries (cost 4, the minimum, to keep tests fast).
 *
 * @param users - User name to password.
 */
export async function writeHtpasswd(file: string, users: Record<string, string>): Promise<void> {
  const lines = await Promise.all(
    Object.entries(users).map(async ([user, password]) => {
      const hash = await bcrypt.hash(password, 4);
      return `${user}:${hash}`;
    }),
  );
  await writeFile(file, `${lines.join('\n')}\n`);
}
