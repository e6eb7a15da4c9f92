import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidName, isValidTag } from '../../src/oci/names.js';

describe('repository names', () => {
  const rows: [string, boolean][] = [
    ['library/ubuntu', true],
    ['a', true],
    ['a/b/c-d_e.f__g', true],
    ['a--b', true],
    ['a/../b', false],
    ['./a', false],
    ['a//b', false],
    ['UPPER', false],
    ['a/', false],
    ['-a', false],
    ['a-', false],
    ['%2e%2e/a', false],
    ['a\\b', false],
    ['', false],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
  ];
  for (const [name, ok] of rows) {
    test(`${JSON.stringify(name.length > 40 ? `${name.length} characters` : name)} is ${ok ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidName(name), ok);
    });
  }
});

describe('tags', () => {
  const rows: [string, boolean][] = [
    ['latest', true],
    ['v1.2.3-rc_1', true],
    ['_x', true],
    ['-bad', false],
    ['.bad', false],
    ['a:b', false],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
  ];
  for (const [tag, ok] of rows) {
    test(`tag ${JSON.stringify(tag.length > 40 ? `${tag.length} characters` : tag)} is ${ok ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidTag(tag), ok);
    });
  }
});
