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
  /** Further entries of the `errors` array, after this error's own. */
  readonly more: { code: ErrorCode; detail?: unknown }[] = [];

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

  /** Adds another entry to the reply's `errors` array; returns this for chaining. */
  alsoReport(code: ErrorCode, detail?: unknown): this {
    this.more.push({ code, detail });
    return this;
  }

  /** The JSON body the spec prescribes for this error. */
  toBody(): string {
    const entries = [{ code: this.code, detail: this.detail }, ...this.more].map(
      ({ code, detail }) => ({
        code,
        message: errorCodes[code].message,
        ...(detail === undefined ? {} : { detail }),
      }),
    );
    return JSON.stringify({ errors: entries });
  }
}
