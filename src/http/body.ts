/**
 * The request body of one uWebSockets.js request as the API sees it (`RequestBody`).
 * uWS delivers chunks through `onData`, which must be attached before the handler returns,
 * and each chunk is valid only during its callback. Until a consumer attaches, chunks are
 * copied aside (and the socket paused once a little has piled up); then they are handed to
 * the consumer, live, with pause/resume driven by the consumer's backpressure.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { BodySink, RequestBody } from '../api/types.js';
import { RegistryError } from '../errors/registry-error.js';

/** Bytes kept aside before a consumer attaches, beyond which the socket is paused. */
const earlyLimit = 256 << 10;

/** How far past its limit `readAll` reads (and drops) before cutting the request off. */
const discardFactor = 8;

export class UwsBody implements RequestBody {
  readonly present: boolean;
  readonly declaredLength: number;
  readonly #res: HttpResponse;
  #early: Buffer[] = [];
  #earlyBytes = 0;
  #ended = false;
  #aborted = false;
  #paused = false;
  #received = 0;
  #consumer: ((chunk: Uint8Array, last: boolean) => void) | null = null;
  #onAbort: (() => void) | null = null;

  constructor(res: HttpResponse, contentLength: string | undefined, chunked: boolean) {
    this.#res = res;
    this.declaredLength = contentLength === undefined ? -1 : Number(contentLength);
    this.present = chunked || this.declaredLength > 0;
    // Without a length or chunked framing, HTTP/1.1 says there is no body at all.
    this.#ended = !this.present;
    res.onData((chunk, last) => this.#onData(chunk, last));
  }

  /** True once the whole body has arrived (or there was none). */
  get complete(): boolean {
    return this.#ended;
  }

  /** Called by the server when the client goes away. */
  abort(): void {
    this.#aborted = true;
    this.#onAbort?.();
  }

  #onData(chunk: ArrayBuffer, last: boolean): void {
    this.#received += chunk.byteLength;
    if (this.#consumer !== null) {
      this.#consumer(new Uint8Array(chunk), last);
    } else if (chunk.byteLength > 0) {
      this.#early.push(Buffer.from(new Uint8Array(chunk)));
      this.#earlyBytes += chunk.byteLength;
      if (this.#earlyBytes >= earlyLimit && !last) this.#pause();
    }
    if (last) this.#ended = true;
  }

  #pause(): void {
    if (this.#paused || this.#aborted) return;
    this.#paused = true;
    this.#res.pause();
  }

  #resume(): void {
    if (!this.#paused || this.#aborted) return;
    this.#paused = false;
    this.#res.resume();
  }

  /**
   * Attaches the one consumer: first the bytes kept aside, then live ones. A consumer that
   * throws ends the read with its error; the rest of the body is then ignored (the server
   * closes such a connection rather than read on).
   */
  #consume(onChunk: (chunk: Uint8Array) => void): Promise<number> {
    if (this.#consumer !== null) throw new Error('request body read twice');
    return new Promise<number>((resolve, reject) => {
      this.#onAbort = () => reject(new RegistryError('BLOB_UPLOAD_INVALID', 'client went away'));
      if (this.#aborted) return this.#onAbort();
      let failed = false;
      const take = (chunk: Uint8Array, last: boolean): void => {
        if (failed) return;
        try {
          onChunk(chunk);
        } catch (err) {
          failed = true;
          return reject(err instanceof Error ? err : new Error(String(err)));
        }
        if (last) resolve(this.#received);
      };
      const early = this.#early;
      this.#early = [];
      early.forEach((chunk, i) => take(chunk, this.#ended && i === early.length - 1));
      if (this.#ended) {
        if (early.length === 0) resolve(this.#received);
        return;
      }
      this.#consumer = take;
      this.#resume();
    });
  }

  async readAll(limit: number, error: () => Error): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    let size = 0;
    await this.#consume((chunk) => {
      size += chunk.byteLength;
      // Past the limit the rest is read and dropped, so the client gets the error reply
      // instead of a reset; far past it, the read is cut off (and the connection closed).
      if (size > limit * discardFactor) throw error();
      if (size > limit) return;
      // Live chunks are uWS memory, valid only now: copy. Early ones are copies already.
      parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    });
    if (size > limit) throw error();
    return Buffer.concat(parts, size);
  }

  pipeTo(sink: BodySink): Promise<number> {
    sink.onDrain = () => this.#resume();
    return this.#consume((chunk) => {
      if (!sink.write(chunk)) this.#pause();
    });
  }
}
