/**
 * Berth's token server for end-to-end tests: its files (key, optional certificate, htpasswd,
 * ACL, configuration) written into a test's directory, and the process
 * (`node bin/berth.js token-server <config>`) started on 127.0.0.1 and stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './berth.js';
import { OutputTail, stopChild } from './registry.js';
import {
  makeCa,
  makeCert,
  makeKey,
  writeHtpasswd,
  type CertPair,
  type KeyKind,
} from './token-keys.js';

/** What {@link prepareTokenServer} writes. */
export interface TokenServerSetup {
  port: number;
  issuer: string;
  service: string;
  /** User name to password, written as bcrypt htpasswd entries. */
  users: Record<string, string>;
  /** The ACL file's YAML text. */
  acl: string;
  /** Signing key type; default ec256. */
  key?: KeyKind;
  /**
   * `none` (default): tokens carry only `kid`. `self-signed`: a self-signed certificate for
   * the key. `ca`: a certificate issued by a fresh test CA; tokens carry the chain in x5c.
   */
  certificate?: 'none' | 'self-signed' | 'ca';
  /** `expiration` of the configuration; default 5m. */
  expiration?: string;
}

/** Files of a prepared token server. */
export interface TokenServerFiles {
  config: string;
  key: string;
  htpasswd: string;
  acl: string;
  /** The signing certificate, or null without one. */
  certificate: string | null;
  /**
   * What a registry's `rootcertbundle` must hold to trust the tokens: the CA certificate,
   * or the self-signed signing certificate itself; null without a certificate.
   */
  rootBundle: string | null;
}

/** Writes key, certificates, htpasswd, ACL and configuration into `dir`. */
export async function prepareTokenServer(
  dir: string,
  setup: TokenServerSetup,
): Promise<TokenServerFiles> {
  const key = await makeKey(dir, setup.key ?? 'ec256');
  let certificate: string | null = null;
  let rootBundle: string | null = null;
  if (setup.certificate === 'self-signed') {
    certificate = await makeCert(dir, key);
    rootBundle = certificate;
  } else if (setup.certificate === 'ca') {
    const ca: CertPair = await makeCa(dir);
    certificate = await makeCert(dir, key, ca);
    rootBundle = ca.cert;
  }
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, setup.users);
  const acl = join(dir, 'acl.yml');
  await writeFile(acl, setup.acl);
  const config = join(dir, 'token-server.yml');
  const lines = [
    `addr: 127.0.0.1:${setup.port}`,
    `issuer: ${JSON.stringify(setup.issuer)}`,
    `service: ${JSON.stringify(setup.service)}`,
    `key: ${JSON.stringify(key)}`,
    `htpasswd: ${JSON.stringify(htpasswd)}`,
    `acl: ${JSON.stringify(acl)}`,
    `expiration: ${setup.expiration ?? '5m'}`,
    'log: { level: info }',
  ];
  if (certificate !== null) lines.push(`certificate: ${JSON.stringify(certificate)}`);
  await writeFile(config, `${lines.join('\n')}\n`);
  return { config, key, htpasswd, acl, certificate, rootBundle };
}

/** A token server process started by a test. */
export interface SpawnedTokenServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The token endpoint, for a registry's `auth.token.realm`. */
  realm: string;
  pid: number;
  /** The published JWKS, as text, for a registry's `auth.token.jwks` file. */
  jwks: string;
  /** The last ~64 KiB of its output (JSON log lines). */
  logs(): string;
  /** SIGTERM (then SIGKILL) to its PID; waits for it to exit. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `node bin/berth.js token-server <config>` and waits until it serves its JWKS.
 *
 * @throws Error with the server's output when it exits or is not ready within 10 s.
 */
export async function spawnTokenServer(config: string, port: number): Promise<SpawnedTokenServer> {
  const entry = join(repoRoot, 'bin', 'berth.js');
  if (!existsSync(join(repoRoot, 'dist', 'src', 'tokenserver', 'server.js'))) {
    throw new Error('Berth is not built (run `npm run build`)');
  }
  const output = new OutputTail();
  const child = spawn(process.execPath, [entry, 'token-server', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c: Buffer) => output.push(c));
  child.stderr.on('data', (c: Buffer) => output.push(c));
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => stopChild(child);
  process.once('exit', () => child.kill('SIGKILL'));

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`token server exited (${String(child.exitCode)})\n${output.text()}`);
    }
    try {
      const res = await fetch(`${url}/.well-known/jwks.json`, {
        signal: AbortSignal.timeout(1_000),
      });
      const body = await res.text();
      if (res.status === 200 && child.pid !== undefined) {
        const pid = child.pid;
        return { url, realm: `${url}/token`, pid, jwks: body, logs: () => output.text(), stop };
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`token server not ready in 10 s\n${output.text()}`);
    }
    await sleep(50);
  }
}
