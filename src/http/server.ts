/**
 * The HTTP front end: the only code that imports uWebSockets.js. It reads each request's
 * line and headers synchronously (uWS request objects die when the handler returns),
 * attaches the body and abort handlers, hands an `ApiRequest` to the route table, and writes
 * what comes back. Errors become the spec's JSON error body; anything unexpected becomes
 * `UNKNOWN` carrying only the request id, its cause going to the log.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import uws from 'uWebSockets.js';
import { dispatch } from '../api/routes.js';
import type { ApiContext } from '../api/context.js';
import type { ApiReply, ApiRequest } from '../api/types.js';
import type { HttpConfig } from '../config/types.js';
import { RegistryError } from '../errors/registry-error.js';
import { logRequest } from '../log/request-log.js';
import { UwsBody } from './body.js';
import { clientIp } from './client-ip.js';
import { Gateway } from './gateway.js';
import { sendReply, type ResponseState } from './reply.js';

export interface ServerOptions {
  http: HttpConfig;
  api: ApiContext;
  log: Logger;
  accessLog: boolean;
}

/** Where the server listens once started. */
export interface Listening {
  /** The TCP port (0 for a unix socket). */
  port: number;
}

/** Splits `host:port` (`:5000` means every interface, as in the reference). */
export function parseAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`http.addr: not a host:port: ${addr}`);
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export class HttpServer {
  readonly #app = uws.App();
  readonly #options: ServerOptions;
  readonly #common: [string, string][];
  readonly #prefix: string;
  /** `http.host`'s origin, parsed once; null to take it from each request's headers. */
  readonly #configuredOrigin: string | null;
  #listenSocket: uws.us_listen_socket | null = null;
  #gateway: Gateway | null = null;
  #inFlight = 0;
  #idle: (() => void) | null = null;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.#prefix = options.http.prefix.replace(/\/$/, '');
    this.#configuredOrigin = options.http.host === '' ? null : new URL(options.http.host).origin;
    this.#common = [['Docker-Distribution-API-Version', 'registry/2.0']];
    for (const [name, values] of Object.entries(options.http.headers)) {
      for (const value of values) this.#common.push([name, value]);
    }
    this.#app.any('/*', (res, req) => this.#onRequest(res, req));
  }

  /** Starts listening. Rejects when the address cannot be bound. */
  async listen(): Promise<Listening> {
    const { http } = this.#options;
    if (http.net === 'unix') {
      await this.#listenUnix(http.addr);
      return { port: 0 };
    }
    const { host, port } = parseAddr(http.addr);
    if (!http.gateway) return { port: await this.#listenTcp(host, port) };
    const upstream = await this.#listenTcp('127.0.0.1', 0);
    try {
      const [gateway, bound] = await Gateway.start(host, port, upstream);
      this.#gateway = gateway;
      return { port: bound };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async #listenTcp(host: string, port: number): Promise<number> {
    const socket = await new Promise<uws.us_listen_socket | false>((resolve) => {
      this.#app.listen(host, port, resolve);
    });
    if (socket === false) throw new Error(`cannot listen on ${host}:${port}`);
    this.#listenSocket = socket;
    return uws.us_socket_local_port(socket);
  }

  async #listenUnix(path: string): Promise<void> {
    // The typings say a socket always comes back; the binding hands false on failure.
    const socket = await new Promise<uws.us_listen_socket | false>((resolve) => {
      this.#app.listen_unix(resolve, path);
    });
    if (socket === false) throw new Error(`cannot listen on ${path}`);
    this.#listenSocket = socket;
  }

  /**
   * Stops taking connections, then waits for the requests under way, at most `timeoutMs`.
   * Resolves with the number still running when it gave up.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.#gateway?.stopListening();
    if (this.#listenSocket !== null) uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#inFlight;
  }

  /**
   * Stops listening and closes the gateway's connections. Without the gateway, idle
   * keep-alive connections stay until their clients or the process end them: uWS v20.30
   * has no call that closes every connection of an app.
   */
  close(): Promise<void> {
    if (this.#listenSocket !== null) uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
    const gateway = this.#gateway;
    this.#gateway = null;
    return gateway?.close() ?? Promise.resolve();
  }

  #onRequest(res: uws.HttpResponse, raw: uws.HttpRequest): void {
    const started = performance.now();
    const method = raw.getCaseSensitiveMethod().toUpperCase();
    const url = raw.getUrl();
    // The typings say string; the binding gives undefined when there is no query.
    const query = (raw.getQuery() as string | undefined) ?? '';
    const headers = new Map<string, string[]>();
    raw.forEach((name, value) => {
      const list = headers.get(name);
      if (list === undefined) headers.set(name, [value]);
      else list.push(value);
    });
    const first = (name: string): string | undefined => headers.get(name)?.[0];

    const state: ResponseState = { aborted: false, readable: null, bytes: 0 };
    const chunked = first('transfer-encoding')?.toLowerCase().includes('chunked') ?? false;
    const body = new UwsBody(res, first('content-length'), chunked);
    this.#inFlight++;
    res.onAborted(() => {
      state.aborted = true;
      body.abort();
      state.readable?.destroy();
    });

    const reqId = randomUUID();
    const rootLog = this.#options.log;
    // Most requests log nothing: the child logger is made when something first asks for it.
    let childLog: Logger | undefined;
    const log = (): Logger => (childLog ??= rootLog.child({ reqId }));
    const path = url.startsWith(this.#prefix) ? url.slice(this.#prefix.length) : '';
    let remoteIp: string | undefined;
    const request: ApiRequest = {
      method,
      path,
      query: new URLSearchParams(query),
      reqId,
      get log() {
        return log();
      },
      body,
      header: first,
      headerValues: (name) => headers.get(name) ?? [],
      ...this.#urls(first),
      pathPrefix: this.#prefix,
      remoteIp: () => (remoteIp ??= clientIp(first, () => this.#peerAddress(res, state))),
    };

    let errorCode: { code: string; cause?: unknown } | undefined;
    const finish = (reply: ApiReply): void => {
      const head = method === 'HEAD';
      sendReply(res, reply, this.#common, state, head, !body.complete, () => {
        logRequest(
          log,
          {
            method,
            path: url,
            status: reply.status,
            bytes: state.bytes,
            durationMs: Math.round((performance.now() - started) * 1000) / 1000,
            ...(reply.logFields === undefined ? {} : { fields: reply.logFields }),
            ...(errorCode === undefined ? {} : { err: errorCode }),
          },
          this.#options.accessLog,
        );
        this.#requestDone();
      });
    };
    const route = path.startsWith('/v2') ? dispatch(this.#options.api, request) : notFound();
    route.then(finish, (err: unknown) => {
      const failure = toRegistryError(err, reqId);
      errorCode = { code: failure.code, ...(failure.code === 'UNKNOWN' ? { cause: err } : {}) };
      finish(errorReply(failure));
    });
  }

  /**
   * The peer's IP address: through the gateway, the client's, which the gateway passes in a
   * PROXY protocol header (gateway-worker.ts); '' once the request was aborted, when uWS
   * no longer lets the response be read.
   */
  #peerAddress(res: uws.HttpResponse, state: ResponseState): string {
    if (state.aborted) return '';
    if (this.#gateway !== null) {
      const proxied = Buffer.from(res.getProxiedRemoteAddressAsText()).toString('latin1');
      if (proxied !== '') return proxied;
    }
    return Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
  }

  #requestDone(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idle !== null) this.#idle();
  }

  /** Base of `Location` URLs (configuration.md, `http.host` and `relativeurls`). */
  #urls(header: (name: string) => string | undefined): { baseUrl: string; origin: string } {
    let origin = this.#configuredOrigin;
    if (origin === null) {
      const proto = header('x-forwarded-proto')?.split(',')[0]?.trim() ?? 'http';
      const host = header('x-forwarded-host')?.split(',')[0]?.trim() ?? header('host');
      origin = `${proto}://${host ?? 'localhost'}`;
    }
    const relative = this.#options.http.relativeurls;
    return { baseUrl: relative ? this.#prefix : `${origin}${this.#prefix}`, origin };
  }
}

function notFound(): Promise<ApiReply> {
  return Promise.reject(new RegistryError('NAME_UNKNOWN', 'no such endpoint', 404));
}

/** What the client is told: a registry error as is, anything else only as its request id. */
function toRegistryError(err: unknown, reqId: string): RegistryError {
  if (err instanceof RegistryError && err.code !== 'UNKNOWN') return err;
  return new RegistryError('UNKNOWN', { requestId: reqId });
}

function errorReply(err: RegistryError): ApiReply {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...err.headers };
  return { status: err.status, headers, body: err.toBody() };
}
