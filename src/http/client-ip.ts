/**
 * The client address of a request, read the way the reference registry reads it (its
 * `RemoteIP`): the first entry of `X-Forwarded-For`, else `X-Real-IP`, else the address of
 * the peer, without a port. The headers are trusted as they come: a client that reaches the
 * registry directly can name any address, as with the reference.
 */

/**
 * The client's IP address. `header` gives a header's first value (lowercase name); `peer` is
 * called only when neither header names an address.
 */
export function clientIp(header: (name: string) => string | undefined, peer: () => string): string {
  const forwarded = header('x-forwarded-for')?.split(',')[0]?.trim();
  if (forwarded !== undefined && forwarded !== '') return withoutPort(forwarded);
  const real = header('x-real-ip')?.trim();
  if (real !== undefined && real !== '') return withoutPort(real);
  return withoutPort(peer());
}

/**
 * `host` of `host:port` or `[host]:port`; anything else (a bare IPv4 or IPv6 address, or
 * text that is no address) as it is.
 */
export function withoutPort(address: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(address);
  if (bracketed !== null) return bracketed[1] ?? '';
  const colon = address.indexOf(':');
  if (colon >= 0 && colon === address.lastIndexOf(':')) return address.slice(0, colon);
  return address;
}
