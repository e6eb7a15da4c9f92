import { errorCodes, type ErrorCode } from './codes.js';

/**
 * The one error type handlers throw. The HTTP layer turns it into the spec's body,
 * `{"errors":[{"code","message","detail"}]}`, with `status` (the code's default unless given).
 * `detail` goes to the client as is: never put driver text or paths in it.
 */
export class RegistryError extends Error {
  readonly status: number;
  /** Extra response headers (`Range` on a 416, `WWW-Authenticate` on a 401, ...). */
  headers: Record<string, string> | undefined;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(errorCodes[code].message);
    this.name = 'RegistryError';
    this.status = status ?? errorCodes[code].status;
  }

  /** Adds a response header; returns this for chaining at the throw site. */
  withHeader(name: string, value: string): this {
    this.headers = { ...this.headers, [name]: value };
    return this;
  }

  /** The JSON body the spec prescribes for this error. */
  toBody(): string {
    const entry: { code: string; message: string; detail?: unknown } = {
      code: this.code,
      message: this.message,
    };
    if (this.detail !== undefined) entry.detail = this.detail;
    return JSON.stringify({ errors: [entry] });
  }
}
