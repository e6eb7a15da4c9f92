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
  const fixed = Buffer.from(`${method} ${path} HTTP/1.1`, 'latin1');
  return Buffer.concat([fixed, first.subarray(lineEnd)]);
}
