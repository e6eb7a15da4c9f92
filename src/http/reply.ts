/**
 * Writing an `ApiReply` to a uWebSockets.js response: status, headers, and a whole body, a
 * HEAD length, or a stream pumped with backpressure (`tryEnd` / `onWritable`, the pattern
 * uWS documents for large bodies). Every write happens inside `cork`, since replies are
 * written from async callbacks.
 */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpResponse } from 'uWebSockets.js';
import type { ApiReply } from '../api/types.js';

/** Per-response state shared with the abort handler. */
export interface ResponseState {
  aborted: boolean;
  /** The stream being sent, destroyed if the client goes away. */
  readable: Readable | null;
  /** Bytes of body sent or announced. */
  bytes: number;
}

const statusLines = new Map<number, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

function writeHead(res: HttpResponse, reply: ApiReply, common: [string, string][]): void {
  res.writeStatus(statusLine(reply.status));
  for (const [name, value] of common) res.writeHeader(name, value);
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    if (Array.isArray(value)) for (const v of value) res.writeHeader(name, v);
    else res.writeHeader(name, value);
  }
}

/**
 * Sends a reply. `close` asks for the connection to be closed after it (the request body was
 * not read to its end, so the connection cannot carry another request). Calls `done` when
 * the last byte is handed to the socket or the client has gone.
 */
export function sendReply(
  res: HttpResponse,
  reply: ApiReply,
  common: [string, string][],
  state: ResponseState,
  head: boolean,
  close: boolean,
  done: () => void,
): void {
  if (state.aborted) return done();
  const stream = reply.stream;
  if (stream !== undefined && !head) {
    res.cork(() => writeHead(res, reply, common));
    return pump(res, stream.readable, stream.length, state, done);
  }
  res.cork(() => {
    writeHead(res, reply, common);
    const body = reply.body ?? '';
    if (reply.status === 204 || reply.status === 304) {
      res.endWithoutBody(undefined, close);
    } else if (reply.contentLength !== undefined) {
      state.bytes = reply.contentLength;
      res.endWithoutBody(reply.contentLength, close);
    } else if (head) {
      res.endWithoutBody(Buffer.byteLength(body), close);
    } else {
      state.bytes = Buffer.byteLength(body);
      res.end(body, close);
    }
  });
  done();
}

function pump(
  res: HttpResponse,
  readable: Readable,
  length: number,
  state: ResponseState,
  done: () => void,
): void {
  state.readable = readable;
  let finished = false;
  /** A chunk uWS could not take yet; `end` may come while it waits. */
  let waiting = false;
  let sourceEnded = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    readable.destroy();
    done();
  };
  if (length === 0) {
    res.cork(() => res.end());
    return finish();
  }
  readable.on('data', (chunk: Buffer) => {
    if (state.aborted) return finish();
    res.cork(() => {
      const start = res.getWriteOffset();
      const [ok, ended] = res.tryEnd(chunk, length);
      // After the last byte the response object is gone: nothing may touch it.
      if (ended) {
        state.bytes = length;
        return finish();
      }
      state.bytes = res.getWriteOffset();
      if (ok) return;
      // The socket is full: hold this chunk until uWS says it can take more.
      readable.pause();
      waiting = true;
      res.onWritable((offset) => {
        const [retryOk, retryEnded] = res.tryEnd(chunk.subarray(offset - start), length);
        if (retryEnded) {
          state.bytes = length;
          finish();
          return true;
        }
        state.bytes = res.getWriteOffset();
        if (retryOk) {
          waiting = false;
          if (sourceEnded) truncated();
          else readable.resume();
        }
        return retryOk;
      });
    });
  });
  readable.on('error', () => {
    // Headers are out: the only honest signal left is to cut the connection.
    if (!state.aborted && !finished) res.close();
    finish();
  });
  // The source ended before `length` bytes: the stored blob is shorter than its size said.
  const truncated = (): void => {
    if (!finished && !state.aborted) res.close();
    finish();
  };
  readable.on('end', () => {
    sourceEnded = true;
    if (!waiting) truncated();
  });
}
