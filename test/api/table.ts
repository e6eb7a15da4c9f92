/**
 * The machinery of the table-driven HTTP tests: a request as data, the reply as the tests
 * read it, and the checks every row makes (status, error code and body shape, headers).
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { errorCodes } from '../../src/errors/codes.js';

/** A request. `path` is below the registry URL (`/v2/...`) or an absolute URL. */
export interface Req {
  method?: string;
  path: string;
  /** Header values; a list sends the header once per value (only with `raw`). */
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** A body sent as a stream of these pieces, with chunked transfer encoding (fetch only). */
  chunks?: Array<string | Uint8Array>;
  /**
   * Send with node:http instead of fetch: the path goes out exactly as written (fetch
   * resolves `..` and `%2e%2e`), and headers may repeat.
   */
  raw?: boolean;
}

/** A reply, read whole. */
export interface Reply {
  status: number;
  /** A header's value (repeated headers joined with `, `), or null. */
  header(name: string): string | null;
  body: Buffer;
}

/** What a row expects. A header given as null must be absent. */
export interface Expect {
  /** The status, or the statuses any of which is right. */
  status: number | number[];
  /** The error code of the first error in the body, or the codes any of which is right. */
  code?: string | string[];
  /** Codes that must all appear somewhere in the `errors` list. */
  allCodes?: string[];
  headers?: Record<string, string | RegExp | null>;
  /** The exact body. */
  body?: string | Uint8Array;
}

/** One row of a table: a request (possibly built after some setup), what to expect, and more. */
export interface Row<F> {
  /** What the row shows, as a sentence: it is the test's name. */
  name: string;
  request: Req | ((f: F) => Req | Promise<Req>);
  expect: Expect;
  /** Further checks once the reply passed `expect`. */
  after?: (f: F, reply: Reply) => void | Promise<void>;
}

/** Sends a request to the registry at `base`. */
export async function send(base: string, req: Req): Promise<Reply> {
  const url = /^https?:/.test(req.path) ? req.path : `${base}${req.path}`;
  const method = req.method ?? 'GET';
  if (req.raw === true) return sendRaw(url, method, req.headers ?? {}, req.body);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (req.body !== undefined) init.body = Buffer.from(req.body);
  if (req.chunks !== undefined) {
    init.body = streamOf(req.chunks);
    init.duplex = 'half';
  }
  const res = await fetch(url, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, header: (name) => res.headers.get(name), body: bytes };
}

/** A request body stream yielding `pieces` one by one, so it goes out chunked. */
export function streamOf(pieces: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const queue = pieces.map((p) => new Uint8Array(Buffer.from(p)));
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

function sendRaw(
  url: string,
  method: string,
  headers: Record<string, string | string[]>,
  body: string | Uint8Array | undefined,
): Promise<Reply> {
  const { hostname, port } = new URL(url);
  // The path exactly as written: everything after the authority.
  const path = url.replace(/^https?:\/\/[^/]+/, '');
  const outgoing: OutgoingHttpHeaders = { ...headers };
  if (body !== undefined) outgoing['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, method, path, headers: outgoing, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              if (value === undefined) return null;
              return Array.isArray(value) ? value.join(', ') : value;
            },
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The spec's error body, checked for shape: `{"errors":[{"code","message",...}]}`. */
export function errorsOf(reply: Reply): Array<{ code: string; message: string }> {
  const type = reply.header('content-type') ?? '';
  assert.match(type, /^application\/json\b/, `error Content-Type is ${type}`);
  const parsed: unknown = JSON.parse(reply.body.toString());
  assert.ok(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed));
  assert.deepEqual(Object.keys(parsed), ['errors'], 'the body holds only "errors"');
  const errors: unknown = (parsed as { errors: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, 'errors is a non-empty list');
  return errors.map((entry: unknown) => {
    assert.ok(typeof entry === 'object' && entry !== null, 'each error is an object');
    const { code, message } = entry as { code?: unknown; message?: unknown };
    assert.equal(typeof code, 'string', 'code is a string');
    assert.match(code as string, /^[A-Z_]+$/, 'code is upper case and underscores');
    assert.equal(typeof message, 'string', 'message is a string');
    return { code: code as string, message: message as string };
  });
}

/** Checks a reply against what a row expects. */
export function check(reply: Reply, expect: Expect, method = 'GET'): void {
  const what = `${reply.status} ${reply.body.toString().slice(0, 400)}`;
  const statuses = Array.isArray(expect.status) ? expect.status : [expect.status];
  if (statuses.length === 1) assert.equal(reply.status, statuses[0], `status (reply: ${what})`);
  else
    assert.ok(
      statuses.includes(reply.status),
      `status one of ${statuses.join(', ')} (reply: ${what})`,
    );
  if (expect.code !== undefined && method !== 'HEAD') {
    const codes = Array.isArray(expect.code) ? expect.code : [expect.code];
    const first = errorsOf(reply)[0];
    assert.ok(first !== undefined);
    assert.ok(codes.includes(first.code), `error code one of ${codes.join(', ')} (reply: ${what})`);
    const known = (errorCodes as Record<string, { message: string } | undefined>)[first.code];
    assert.equal(first.message, known?.message, 'the message is the code table one');
  }
  if (expect.allCodes !== undefined) {
    const present = errorsOf(reply).map((e) => e.code);
    for (const code of expect.allCodes)
      assert.ok(present.includes(code), `${code} among ${present.join(', ')}`);
  }
  for (const [name, want] of Object.entries(expect.headers ?? {})) {
    const got = reply.header(name);
    if (want === null) assert.equal(got, null, `header ${name} must be absent`);
    else if (typeof want === 'string') assert.equal(got, want, `header ${name}`);
    else assert.match(got ?? '<absent>', want, `header ${name}`);
  }
  if (expect.body !== undefined) {
    assert.deepEqual(reply.body, Buffer.from(expect.body), 'body');
  }
}

/** Runs one row against the registry at `base`, with fixture `f`. */
export async function runRow<F>(base: string, f: F, row: Row<F>): Promise<Reply> {
  const req = typeof row.request === 'function' ? await row.request(f) : row.request;
  const reply = await send(base, req);
  check(reply, row.expect, req.method ?? 'GET');
  await row.after?.(f, reply);
  return reply;
}

/** The path and query of an absolute or relative URL (a `Location` header). */
export function pathOf(location: string | null): string {
  assert.ok(location !== null, 'a Location header');
  const u = new URL(location, 'http://placeholder');
  return `${u.pathname}${u.search}`;
}

/** A `Location` with a query parameter added (the spec's `<location>?digest=...`). */
export function withParam(location: string | null, name: string, value: string): string {
  const path = pathOf(location);
  return `${path}${path.includes('?') ? '&' : '?'}${name}=${value}`;
}

/** Hex digits, `n` of them, for made-up digests. */
export function hex(n: number, digit = 'a'): string {
  return digit.repeat(n);
}

/** What came back on a raw connection, and how it ended. */
export interface Exchange {
  /** Every byte received, as latin1 text. */
  text: string;
  /** 'closed' by the server, 'reset' (or another socket error), or 'timeout'. */
  end: 'closed' | 'reset' | 'timeout';
  /** Milliseconds from connecting to the end. */
  ms: number;
}

/**
 * Writes `bytes` on a fresh TCP connection and collects what comes back until the server
 * closes the connection, it fails, or `timeoutMs` passes (then the client closes it). With
 * `untilResponse`, also stops once a whole response head and its `Content-Length` body are in.
 */
export function exchange(
  port: number,
  bytes: Array<string | Uint8Array>,
  timeoutMs: number,
  untilResponse = false,
): Promise<Exchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    let done = false;
    const finish = (end: Exchange['end']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(received).toString('latin1'), end, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (untilResponse && isWholeResponse(Buffer.concat(received).toString('latin1'))) {
        finish('closed');
      }
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('reset'));
    socket.on('connect', () => {
      for (const piece of bytes) socket.write(piece);
    });
  });
}

function isWholeResponse(text: string): boolean {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd));
  return text.length - headEnd - 4 >= Number(length?.[1] ?? 0);
}
