/**
 * The token server process: loads the key, users and ACL named by its configuration and
 * serves, with node:http (token requests are few; the registry's uWebSockets.js front end
 * is for the hot path):
 *
 * - `GET /token`, `POST /token`: tokens (see service.ts);
 * - `GET /.well-known/jwks.json`, `GET /jwks`: the public key, for the registry's
 *   `auth.token.jwks` file.
 *
 * One log line per request with the subject, service and granted scopes; never a password,
 * an Authorization header or a token.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createLogger } from '../log/logger.js';
import { Acl } from './acl.js';
import type { TokenServerConfig } from './config.js';
import { loadSigningKey, publicJwks, type Jwks } from './keys.js';
import { ReloadingFile } from './reloading-file.js';
import { formatScopes } from './scope.js';
import { TokenRequestError, TokenService, type BasicCredentials, type Issued } from './service.js';
import { TokenIssuer } from './tokens.js';
import { UserStore } from './users.js';
import { TokenServerConfigError } from './yaml-file.js';

/** A running token server. */
export interface RunningTokenServer {
  /** `http://host:port` of the listening socket. */
  url: string;
  port: number;
  log: Logger;
  /** Stops accepting requests, closes idle connections and resolves when closed. */
  stop(): Promise<void>;
}

/** Largest POST body read; a token request form is a few hundred bytes. */
const maxBodyBytes = 64 * 1024;

class BodyTooLarge extends Error {}

/**
 * Parses a `Basic` Authorization header (RFC 7617). Null when there is no header; a
 * TokenRequestError for any other scheme or a malformed value, since a client that sends
 * credentials the server cannot read must not be served as anonymous.
 */
export function basicCredentials(header: string | undefined): BasicCredentials {
  if (header === undefined) return null;
  const m = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const decoded = m?.[1] === undefined ? '' : Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new TokenRequestError(401, 'invalid_client', 'expected Basic credentials');
  }
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new TokenRequestError(
      400,
      'invalid_request',
      'expected Content-Type application/x-www-form-urlencoded',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // RFC 6749 section 5.1: token responses must not be cached.
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Routes one request; resolves with what to log about it. */
async function route(
  req: IncomingMessage,
  res: ServerResponse,
  service: TokenService,
  jwks: Jwks,
): Promise<Issued | null> {
  const url = new URL(req.url ?? '/', 'http://token-server');
  if (url.pathname === '/.well-known/jwks.json' || url.pathname === '/jwks') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return null;
    }
    sendJson(res, 200, jwks, { 'cache-control': 'max-age=300' });
    return null;
  }
  if (url.pathname !== '/token') {
    sendJson(res, 404, { error: 'not found' });
    return null;
  }
  let issued: Issued;
  if (req.method === 'GET') {
    issued = await service.get(url.searchParams, basicCredentials(req.headers.authorization));
  } else if (req.method === 'POST') {
    issued = await service.post(await readForm(req));
  } else {
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, POST' });
    return null;
  }
  sendJson(res, 200, issued.answer);
  return issued;
}

/** Answers a failed request; returns the fields to log about it. */
function answerError(req: IncomingMessage, res: ServerResponse, err: unknown): object {
  if (err instanceof TokenRequestError) {
    const body = { error: err.code, error_description: err.description };
    const challenge = { 'www-authenticate': 'Basic realm="berth-token-server"' };
    sendJson(res, err.status, body, err.status === 401 ? challenge : {});
    return { error: err.code };
  }
  if (err instanceof BodyTooLarge) {
    sendJson(res, 413, { error: 'invalid_request', error_description: 'body too large' });
    req.resume();
    return { error: 'invalid_request' };
  }
  // An unexpected fault: its cause goes to the log, never to the client.
  if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  else res.destroy();
  return { err };
}

function handler(service: TokenService, jwks: Jwks, log: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const done = (fields: object): void => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = (req.url ?? '/').split('?')[0];
      const line = { method: req.method, path, status: res.statusCode, ms, ...fields };
      if (res.statusCode >= 500) log.error(line, 'request');
      else log.info(line, 'request');
    };
    route(req, res, service, jwks).then(
      (issued) => {
        if (issued === null) return done({});
        const granted = formatScopes(issued.granted);
        done({ sub: issued.subject, service: issued.service, granted });
      },
      (err: unknown) => done(answerError(req, res, err)),
    );
  };
}

const readText = (file: string): Promise<string> => readFile(file, 'utf8');

/** Runs `read(file)`, turning a file system error into a TokenServerConfigError. */
async function readConfigured<T>(
  file: string,
  key: string,
  read: (file: string) => Promise<T>,
): Promise<T> {
  try {
    return await read(file);
  } catch (err) {
    if (err instanceof TokenServerConfigError) throw err;
    throw new TokenServerConfigError(
      [`${key}: cannot read ${file}: ${(err as Error).message}`],
      file,
    );
  }
}

/**
 * Starts a token server for a validated configuration.
 *
 * @throws KeyError, TokenServerConfigError or a file system error when the key, the
 *   certificate, the htpasswd file or the ACL cannot be used; EADDRINUSE and the like
 *   when the address cannot be bound.
 */
export async function startTokenServer(
  config: TokenServerConfig,
  options: { log?: Logger } = {},
): Promise<RunningTokenServer> {
  const log = options.log ?? createLogger(config.log);
  const keyPem = await readConfigured(config.keyFile, 'key', readText);
  const certPem =
    config.certificateFile === null
      ? undefined
      : await readConfigured(config.certificateFile, 'certificate', readText);
  const key = loadSigningKey(keyPem, certPem);
  const htpasswd = config.htpasswdFile;
  const users =
    htpasswd === null
      ? null
      : await readConfigured(htpasswd, 'htpasswd', (f) => UserStore.open(f, log));
  const acl = await readConfigured(config.aclFile, 'acl', (f) =>
    ReloadingFile.open(f, (t, name) => Acl.parse(t, name), log),
  );
  const issuer = new TokenIssuer(key, {
    issuer: config.issuer,
    expirationSeconds: config.expirationSeconds,
    refreshExpirationSeconds: config.refreshExpirationSeconds,
  });
  const service = new TokenService({ services: config.services, users, acl, issuer });
  const jwks = await publicJwks(key);

  const server = createServer(handler(service, jwks, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info(
    { addr: `${host}:${port}`, alg: key.alg, kid: key.kid, x5c: key.x5c.length > 0 },
    'listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err === undefined ? resolve() : reject(err)));
      server.closeIdleConnections();
    });
    return stopping;
  };
  return { url: `http://${host}:${port}`, port, log, stop };
}
