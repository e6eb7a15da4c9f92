import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../../src/errors/registry-error.js';
import { parseDigest, tryParseDigest } from '../../src/oci/digest.js';

const hex64 = 'a'.repeat(64);

describe('parseDigest', () => {
  const valid = [`sha256:${hex64}`, `sha512:${'b'.repeat(128)}`, `blake3:${hex64}`];
  for (const text of valid) {
    test(`accepts ${text.slice(0, 12)}…`, () => {
      assert.equal(parseDigest(text).value, text);
    });
  }

  const invalid: [string, string][] = [
    ['a digest without an algorithm', hex64],
    ['sha256 with 63 hex characters', `sha256:${'a'.repeat(63)}`],
    ['sha256 with uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['sha512 with the length of sha256', `sha512:${hex64}`],
    ['an unsupported algorithm', `md5:${'a'.repeat(32)}`],
    ['an empty encoded part', 'sha256:'],
    ['a path escape', `sha256:../${hex64}`],
  ];
  for (const [name, text] of invalid) {
    test(`refuses ${name} with DIGEST_INVALID`, () => {
      assert.throws(
        () => parseDigest(text),
        (err) => err instanceof RegistryError && err.code === 'DIGEST_INVALID',
      );
      assert.equal(tryParseDigest(text), null);
    });
  }

  test('splits the algorithm from the hex', () => {
    const d = parseDigest(`sha256:${hex64}`);
    assert.equal(d.algorithm, 'sha256');
    assert.equal(d.hex, hex64);
  });
});
