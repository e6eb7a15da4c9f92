/**
 * Shared pieces of the access-controller tests: a request stub, a logger whose lines the
 * test can read, and an assertion on the RegistryError a refused request throws.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { RegistryError } from '../../src/errors/registry-error.js';
import type { AuthRequest } from '../../src/auth/types.js';

export const ORIGIN = 'https://registry.test';

/** A request with the given Authorization header (none when undefined). */
export function request(authorization?: string): AuthRequest {
  return {
    header: (name) => (name === 'authorization' ? authorization : undefined),
    origin: ORIGIN,
  };
}

/** `Authorization: Basic ...` for `user:password`, encoded as UTF-8. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** A logger at debug level and the JSON lines it has written so far. */
export function captureLog(): {
  log: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, text };
}

/** What a refusal is expected to carry. */
export interface Refusal {
  status: number;
  code: string;
  /** The exact WWW-Authenticate value, or a pattern it must match; undefined: no header. */
  challenge?: string | RegExp;
  detail?: unknown;
}

/** Asserts that `promise` rejects with a RegistryError matching `expected`. */
export async function assertRefused(promise: Promise<unknown>, expected: Refusal): Promise<void> {
  const err = await promise.then(
    () => assert.fail('expected the request to be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RegistryError, `expected a RegistryError, got ${String(err)}`);
  assert.equal(err.status, expected.status);
  assert.equal(err.code, expected.code);
  const header = err.headers?.['WWW-Authenticate'];
  if (expected.challenge === undefined) assert.equal(header, undefined);
  else if (typeof expected.challenge === 'string') assert.equal(header, expected.challenge);
  else assert.match(header ?? '', expected.challenge);
  if ('detail' in expected) assert.deepEqual(err.detail, expected.detail);
}
