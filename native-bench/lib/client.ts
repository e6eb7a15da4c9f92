/**
 * The Node load generator's HTTP side: one keep-alive agent per scenario run (at most
 * `concurrency` sockets) and the registry operations as real clients perform them.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { describe, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, ociManifest, sliceParts } from './blobs.js';
import type { Blob, Descriptor } from './blobs.js';

/** A response: status, headers and (when asked for) the body. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Options of one request. */
export interface RequestOptions {
  headers?: Record<string, string>;
  /** Body as a list of buffers, written in order; none means no body. */
  body?: readonly Buffer[];
  /** Keep the response body (manifests, tag lists); otherwise it is read and dropped. */
  keepBody?: boolean;
}

/** An HTTP/1.1 client of one server with a bounded pool of keep-alive sockets. */
export class HttpClient {
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;

  constructor(
    readonly baseUrl: string,
    concurrency: number,
  ) {
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: concurrency,
      maxFreeSockets: concurrency,
      scheduling: 'lifo',
    });
  }

  /**
   * Requests resent because the server had closed or reset the connection before answering
   * (see {@link HttpClient.send}).
   */
  retries = 0;

  /** Of {@link retries}, those on a new connection (not one kept alive from before). */
  freshRetries = 0;

  /**
   * Sends one request and resolves with the complete response.
   *
   * A request whose connection is closed or reset before any response arrives (ECONNRESET,
   * EPIPE, "socket hang up") is sent again, up to {@link MAX_RETRIES} times. For a kept-alive
   * connection the server closed while it sat in the pool, Go's and curl's clients do the
   * same; a reset of a fresh connection would fail a real client, so {@link retries} counts
   * every resend and the table notes them.
   */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt(method, path, opts);
      } catch (err) {
        // Several pooled connections may have been closed at once: try each in turn.
        if (!(err instanceof StaleConnectionError) || attempt > MAX_RETRIES) {
          const message = err instanceof Error ? err.message : String(err);
          throw new Error(`${method} ${path.slice(0, 80)}: ${message}`);
        }
        this.retries += 1;
        if (err.fresh) this.freshRetries += 1;
      }
    }
  }

  #attempt(method: string, path: string, opts: RequestOptions): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    const body = opts.body ?? [];
    if (opts.body !== undefined || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      headers['content-length'] = String(body.reduce((n, b) => n + b.length, 0));
    }
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = request(
        { agent: this.#agent, host: this.#host, port: this.#port, method, path, headers },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          if (opts.keepBody === true) res.on('data', (c: Buffer) => chunks.push(c));
          else res.resume();
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Reused or not: Berth also resets fresh connections under concurrency (README).
        const stale =
          !answered &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'socket hang up');
        reject(stale ? new StaleConnectionError(err.message, !req.reusedSocket) : err);
      });
      for (const part of body) req.write(part);
      req.end();
    });
  }

  /** Closes every pooled socket. */
  close(): void {
    this.#agent.destroy();
  }
}

/** How many times a request is resent after failing on a connection the server closed. */
const MAX_RETRIES = 8;

/** A request's connection was closed or reset before any response. */
class StaleConnectionError extends Error {
  constructor(
    message: string,
    readonly fresh: boolean,
  ) {
    super(message);
  }
}

/** Throws with the server's answer unless `reply.status` is `expected`. */
export function expectStatus(reply: Reply, expected: number, what: string): void {
  if (reply.status === expected) return;
  const detail = reply.body.toString('utf8').slice(0, 300);
  throw new Error(`${what}: expected ${expected}, got ${reply.status} ${detail}`);
}

/** The `Location` of a reply as a path and query on the same server. */
function location(client: HttpClient, reply: Reply, what: string): string {
  const value = reply.headers.location;
  if (value === undefined) throw new Error(`${what}: no Location header`);
  const url = new URL(value, client.baseUrl);
  return url.pathname + url.search;
}

function withDigest(path: string, digest: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

const OCTETS = { 'content-type': 'application/octet-stream' };

/** `POST /v2/<repo>/blobs/uploads/`: opens an upload session, returns its location. */
export async function startUpload(client: HttpClient, repo: string): Promise<string> {
  const reply = await client.send('POST', `/v2/${repo}/blobs/uploads/`, { keepBody: true });
  expectStatus(reply, 202, 'start upload');
  return location(client, reply, 'start upload');
}

/** Two-step upload: POST, then PUT `?digest=` with the whole body. */
export async function uploadTwoStep(client: HttpClient, repo: string, blob: Blob): Promise<void> {
  const loc = await startUpload(client, repo);
  const reply = await client.send('PUT', withDigest(loc, blob.digest), {
    headers: OCTETS,
    body: blob.parts,
    keepBody: true,
  });
  expectStatus(reply, 201, 'complete upload');
}

/**
 * Single-request upload: `POST ?digest=` with the body. A server that answers this with 202
 * (the Go registry 2.8 does, ignoring the body) is not sent the body: `supported` false
 * makes this the two-step upload, which is what a client falls back to.
 */
export async function uploadSingle(
  client: HttpClient,
  repo: string,
  blob: Blob,
  supported: boolean,
): Promise<void> {
  if (!supported) return uploadTwoStep(client, repo, blob);
  const path = withDigest(`/v2/${repo}/blobs/uploads/`, blob.digest);
  const reply = await client.send('POST', path, {
    headers: OCTETS,
    body: blob.parts,
    keepBody: true,
  });
  expectStatus(reply, 201, 'single-request upload');
}

/** Chunked upload: POST, PATCH each `chunk` bytes with `Content-Range`, PUT `?digest=`. */
export async function uploadChunked(
  client: HttpClient,
  repo: string,
  blob: Blob,
  chunk: number,
): Promise<void> {
  let loc = await startUpload(client, repo);
  for (let start = 0; start < blob.size; start += chunk) {
    const end = Math.min(blob.size, start + chunk);
    const reply = await client.send('PATCH', loc, {
      headers: { ...OCTETS, 'content-range': `${start}-${end - 1}` },
      body: sliceParts(blob.parts, start, end),
      keepBody: true,
    });
    expectStatus(reply, 202, 'upload chunk');
    loc = location(client, reply, 'upload chunk');
  }
  const reply = await client.send('PUT', withDigest(loc, blob.digest), { keepBody: true });
  expectStatus(reply, 201, 'complete chunked upload');
}

/**
 * A blob pushed as the Docker client does: HEAD (to skip what exists), POST, one streamed
 * PATCH without `Content-Range`, then PUT `?digest=` without body.
 *
 * @returns Whether the blob was sent (false when HEAD found it).
 */
export async function pushBlobLikeDocker(
  client: HttpClient,
  repo: string,
  blob: Blob,
): Promise<boolean> {
  const head = await client.send('HEAD', `/v2/${repo}/blobs/${blob.digest}`);
  if (head.status === 200) return false;
  expectStatus(head, 404, 'blob HEAD before push');
  let loc = await startUpload(client, repo);
  const patch = await client.send('PATCH', loc, {
    headers: OCTETS,
    body: blob.parts,
    keepBody: true,
  });
  expectStatus(patch, 202, 'streamed PATCH');
  loc = location(client, patch, 'streamed PATCH');
  const put = await client.send('PUT', withDigest(loc, blob.digest), { keepBody: true });
  expectStatus(put, 201, 'complete streamed upload');
  return true;
}

/** `PUT /v2/<repo>/manifests/<ref>`; returns the digest the server reports. */
export async function putManifest(
  client: HttpClient,
  repo: string,
  ref: string,
  manifest: Buffer,
): Promise<string> {
  const reply = await client.send('PUT', `/v2/${repo}/manifests/${ref}`, {
    headers: { 'content-type': OCI_MANIFEST },
    body: [manifest],
    keepBody: true,
  });
  expectStatus(reply, 201, `manifest PUT ${repo}:${ref}`);
  const digest = reply.headers['docker-content-digest'];
  if (typeof digest !== 'string') throw new Error('manifest PUT: no Docker-Content-Digest');
  return digest;
}

/** Uploads `config` and `layers` (two-step) and returns the manifest that names them. */
export async function pushImageBlobs(
  client: HttpClient,
  repo: string,
  config: Blob,
  layers: readonly Blob[],
): Promise<{ config: Descriptor; layers: Descriptor[]; manifest: Buffer }> {
  for (const blob of [config, ...layers]) await uploadTwoStep(client, repo, blob);
  const configDesc = describe(config, OCI_CONFIG);
  const layerDescs = layers.map((l) => describe(l, OCI_LAYER));
  return { config: configDesc, layers: layerDescs, manifest: ociManifest(configDesc, layerDescs) };
}
