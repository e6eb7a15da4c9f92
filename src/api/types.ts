/**
 * What the API handlers see of HTTP: a request with its headers and a body to consume, and
 * a reply they return. The HTTP layer (the only code that knows uWebSockets.js) builds the
 * one and writes the other, so handlers stay plain async functions.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/** Where request body bytes go: `write` returns false to ask for a pause until `onDrain`. */
export interface BodySink {
  write(chunk: Uint8Array): boolean;
  onDrain: (() => void) | null;
}

/** A request body, read at most once. */
export interface RequestBody {
  /** Whether the request declares a body (a non-zero length, or chunked). */
  readonly present: boolean;
  /** The declared `Content-Length`, or -1 when there is none. */
  readonly declaredLength: number;
  /** The whole body; throws `error` once it passes `limit` bytes. */
  readAll(limit: number, error: () => Error): Promise<Buffer>;
  /** Feeds the body to a sink, with backpressure; resolves with the byte count at its end. */
  pipeTo(sink: BodySink): Promise<number>;
}

export interface ApiRequest {
  readonly method: string;
  /** The path below the configured prefix, still percent-encoded, starting with `/v2/`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly reqId: string;
  readonly log: Logger;
  readonly body: RequestBody;
  /** The first value of a header (lowercase name), or undefined. */
  header(name: string): string | undefined;
  /** Every value of a header, in order. */
  headerValues(name: string): string[];
  /** Base URL for `Location` headers: `http://host/prefix`, or `/prefix` with relative URLs. */
  readonly baseUrl: string;
  /** Scheme and host the client used (`http://host:port`), for challenges. */
  readonly origin: string;
  /** The configured path prefix without its trailing slash ('' when none). */
  readonly pathPrefix: string;
  /**
   * The client's IP address as the reference registry reads it: the first entry of
   * `X-Forwarded-For`, else `X-Real-IP`, else the peer's address (through the gateway, the
   * client's own). Read on demand, so call it before the reply is returned; '' once the
   * client has gone.
   */
  readonly remoteIp: () => string;
}

/** What a handler answers. Exactly one of `body`, `stream` or `contentLength` applies. */
export interface ApiReply {
  status: number;
  headers?: Record<string, string | string[]>;
  /** A whole body. */
  body?: Buffer | string;
  /** A streamed body of `length` bytes. */
  stream?: { readable: Readable; length: number };
  /** For HEAD: the Content-Length to announce without a body. */
  contentLength?: number;
  /** Fields for the access log line. */
  logFields?: Record<string, unknown>;
}
