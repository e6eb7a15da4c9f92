/**
 * The PROXY protocol, version 2 (HAProxy's `proxy-protocol.txt`, section 2.2): the binary
 * header the gateway sends ahead of a connection's bytes so that uWebSockets.js, which
 * parses it, reports the client's address instead of the gateway's loopback one.
 */
import net from 'node:net';

/** The 12-byte signature that starts every version 2 header. */
const SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** Version 2, command PROXY. */
const VERSION_PROXY = 0x21;
/** Address family and transport: TCP over IPv4, TCP over IPv6. */
const TCP4 = 0x11;
const TCP6 = 0x21;

/** One end of a TCP connection. */
export interface Endpoint {
  address: string;
  port: number;
}

/**
 * The header telling that `source` connected to `dest`, or an empty buffer when either
 * address is not an IP address (the receiver then sees the sender's own address). An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, from a dual-stack socket) is sent as IPv4.
 */
export function proxyV2Header(source: Endpoint, dest: Endpoint): Buffer {
  const from = unmapped(source.address);
  const to = unmapped(dest.address);
  const family = net.isIP(from);
  if (family === 0 || net.isIP(to) !== family) return Buffer.alloc(0);
  const size = family === 4 ? 4 : 16;
  const header = Buffer.alloc(16 + 2 * size + 4);
  SIGNATURE.copy(header, 0);
  header[12] = VERSION_PROXY;
  header[13] = family === 4 ? TCP4 : TCP6;
  header.writeUInt16BE(2 * size + 4, 14);
  writeAddress(header, 16, from, family);
  writeAddress(header, 16 + size, to, family);
  header.writeUInt16BE(source.port, 16 + 2 * size);
  header.writeUInt16BE(dest.port, 16 + 2 * size + 2);
  return header;
}

/** `192.0.2.1` for `::ffff:192.0.2.1`; any other address as it is, without a zone. */
function unmapped(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  return mapped?.[1] ?? plain;
}

/** Writes a valid IP address of `family` as 4 or 16 bytes at `offset`. */
function writeAddress(out: Buffer, offset: number, address: string, family: number): void {
  if (family === 4) {
    address.split('.').forEach((part, i) => (out[offset + i] = Number(part)));
    return;
  }
  const groups = ipv6Groups(address);
  groups.forEach((group, i) => out.writeUInt16BE(group, offset + 2 * i));
}

/** The eight 16-bit groups of a valid IPv6 address (`::` and a dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail !== null) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const first = parse(head);
  if (rest === undefined) return first;
  const last = parse(rest);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}
