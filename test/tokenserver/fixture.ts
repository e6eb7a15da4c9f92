/**
 * A token server running in the test process on 127.0.0.1, port 0, with fresh keys, users
 * and ACL in a temporary directory, its log captured, and small clients for its endpoints.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import type { TokenServerConfig } from '../../src/tokenserver/config.js';
import { startTokenServer } from '../../src/tokenserver/server.js';
import { createLogger } from '../../src/log/logger.js';
import { makeCa, makeCert, makeKey, writeHtpasswd, type KeyKind } from '../helpers/token-keys.js';

/** Users of the fixture and their passwords. */
export const USERS = {
  alice: 'alice-secret',
  bob: 'bob-secret',
  robot: 'robot-secret',
} as const;

/** alice administers everything, robot pushes team/*, bob pulls team/app, anyone public/*. */
export const ACL = `
groups:
  admins: [alice]
  ci: [robot]
rules:
  - {subject: group:admins, repository: '**', actions: ['*']}
  - {subject: group:admins, registry: catalog, actions: ['*']}
  - {subject: group:ci, repository: team/*, actions: [pull, push]}
  - {subject: user:bob, repository: team/app, actions: [pull]}
  - {subject: anonymous, repository: public/*, actions: [pull]}
`;

export const ISSUER = 'berth-test-issuer';
export const SERVICE = 'berth-test-registry';

/** Options of {@link startFixture}. */
export interface FixtureOptions {
  key?: KeyKind;
  /** Configure a certificate issued by a test CA (tokens then carry x5c). */
  certificate?: boolean;
  expirationSeconds?: number;
  services?: string[];
}

/** The JSON a token request answers with. */
export interface TokenJson {
  token?: string;
  access_token?: string;
  expires_in?: number;
  issued_at?: string;
  scope?: string;
  refresh_token?: string;
  error?: string;
}

/** A decoded access token. */
export interface Decoded {
  header: ProtectedHeaderParameters;
  claims: JWTPayload & { access?: { type: string; name: string; actions: string[] }[] };
}

/** A running fixture. */
export interface Fixture {
  url: string;
  dir: string;
  htpasswd: string;
  aclFile: string;
  /** The CA certificate PEM when `certificate` was asked for. */
  caPem: string | null;
  /** Everything the server logged so far. */
  logs(): string;
  /** `GET /token?<query>` with optional Basic credentials. */
  get(
    query: string,
    user?: string,
    password?: string,
  ): Promise<{ status: number; json: TokenJson; headers: Headers }>;
  /** `POST /token` with a form body. */
  post(form: Record<string, string>): Promise<{ status: number; json: TokenJson }>;
  stop(): Promise<void>;
}

/** Decodes a JWT without verifying it (tests verify separately). */
export function decode(token: string | undefined): Decoded {
  if (token === undefined) throw new Error('no token in the answer');
  return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
}

/** Basic credentials header value. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Starts a token server for one test suite; call `stop()` in `after`. */
export async function startFixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-tokenserver-'));
  const keyFile = await makeKey(dir, opts.key ?? 'ec256');
  let certificateFile: string | null = null;
  let caPem: string | null = null;
  if (opts.certificate === true) {
    const ca = await makeCa(dir);
    certificateFile = await makeCert(dir, keyFile, ca);
    caPem = await readFile(ca.cert, 'utf8');
  }
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, USERS);
  const aclFile = join(dir, 'acl.yml');
  await writeFile(aclFile, ACL);

  let logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString('utf8');
      done();
    },
  });
  const config: TokenServerConfig = {
    host: '127.0.0.1',
    port: 0,
    issuer: ISSUER,
    services: opts.services ?? [SERVICE],
    keyFile,
    certificateFile,
    expirationSeconds: opts.expirationSeconds ?? 300,
    refreshExpirationSeconds: 0,
    htpasswdFile: htpasswd,
    aclFile,
    log: { level: 'debug', formatter: 'json', fields: {}, accesslog: { disabled: false } },
  };
  const server = await startTokenServer(config, { log: createLogger(config.log, sink) });

  return {
    url: server.url,
    dir,
    htpasswd,
    aclFile,
    caPem,
    logs: () => logText,
    async get(query, user, password) {
      const headers: Record<string, string> =
        user === undefined ? {} : { authorization: basic(user, password ?? '') };
      const res = await fetch(`${server.url}/token?${query}`, { headers });
      return { status: res.status, json: (await res.json()) as TokenJson, headers: res.headers };
    },
    async post(form) {
      const res = await fetch(`${server.url}/token`, {
        method: 'POST',
        body: new URLSearchParams(form),
      });
      return { status: res.status, json: (await res.json()) as TokenJson };
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
