/**
 * The gateway's look at the first line of a connection (see gateway.ts): pure, so it is
 * tested on its own.
 */

// What Go's net/http answers to a request line it cannot parse.
export const badRequest =
  'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

// method SP request-target SP HTTP-version (RFC 9112 section 3).
const requestLine = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;

// `PUT http://host:port/v2/... HTTP/1.1`: absolute-form request target (RFC 9112 3.2.2).
const absoluteForm = /^[hH][tT][tT][pP][sS]?:\/\/[^/]*(\/.*)?$/;

/**
 * The first chunk of a connection made into what uWS parses: an origin-form target and
 * HTTP/1.1 (uWS waits out its idle timeout on anything else). Null when the first line is
 * not an HTTP request line at all. Later requests on the same connection pass as they are.
 */
export function normaliseFirst(first: Buffer): Buffer | null {
  const lineEnd = first.indexOf('\r\n');
  // A request line split across packets: rare; let uWS have it as it is.
  if (lineEnd < 0) return first;
  const line = first.toString('latin1', 0, lineEnd);
  const m = requestLine.exec(line);
  if (m === null) return null;
  const [, method, target = '', minor] = m;
  const absolute = absoluteForm.exec(target);
  if (absolute === null && minor === '1') return first;
  const path = absolute === null ? target : (absolute[1] ?? '/');
  let fixed = `${method} ${path} HTTP/1.1`;
  if (minor === '0') fixed += http10Headers(first.toString('latin1', lineEnd, headEnd(first)));
  return Buffer.concat([Buffer.from(fixed, 'latin1'), first.subarray(lineEnd)]);
}

/** Where the first request's header block ends in the chunk (or the chunk's end). */
function headEnd(first: Buffer): number {
  const end = first.indexOf('\r\n\r\n');
  return end < 0 ? first.length : end;
}

/**
 * What an HTTP/1.0 request needs to be read as HTTP/1.1 with the same meaning: a `Host`
 * (optional in 1.0, required by uWS for 1.1; load balancers' health checks omit it), and
 * `Connection: close` unless the client asked for keep-alive (1.0's default is to close).
 */
function http10Headers(headers: string): string {
  let added = '';
  if (!/\r\nhost:/i.test(headers)) added += '\r\nHost: localhost';
  if (!/\r\nconnection:[^\r]*keep-alive/i.test(headers)) added += '\r\nConnection: close';
  return added;
}
