/**
 * A local stand-in for AWS's `ip-ranges.json` (the document the cloudfront middleware's
 * `ipfilteredby` reads), with documentation address ranges in its place.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Documentation ranges (RFC 5737, RFC 3849) standing in for AWS's, in two regions. */
export const RANGES = {
  syncToken: '1',
  createDate: '2026-01-01-00-00-00',
  prefixes: [
    { ip_prefix: '192.0.2.0/24', region: 'us-east-1', service: 'AMAZON' },
    { ip_prefix: '198.51.100.0/24', region: 'eu-west-1', service: 'S3' },
    { ip_prefix: '127.0.0.3/32', region: 'us-east-1', service: 'EC2' },
  ],
  ipv6_prefixes: [
    { ipv6_prefix: '2001:db8:1::/48', region: 'US-EAST-1', service: 'AMAZON' },
    { ipv6_prefix: '2001:db8:2::/48', region: 'eu-west-1', service: 'S3' },
  ],
};

/** A second document: only 203.0.113.0/24 (RFC 5737's third range). */
export const OTHER_RANGES = {
  prefixes: [{ ip_prefix: '203.0.113.0/24', region: 'us-east-1', service: 'AMAZON' }],
  ipv6_prefixes: [],
};

/** A local stand-in for AWS's ip-ranges.json: answers with `reply`, counts requests. */
export class RangesServer {
  readonly #server: http.Server;
  requests = 0;
  reply: (res: http.ServerResponse) => void = (res) => this.json(res, RANGES);

  constructor() {
    this.#server = http.createServer((_req, res) => {
      this.requests++;
      this.reply(res);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/ip-ranges.json`;
  }

  json(res: http.ServerResponse, doc: unknown): void {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(doc));
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
