import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalize, compareCodePoints, encodeString } from '../../src/oci/canonical-json.js';

// Expected strings are written by hand from json.md and Go's encoding/json rules; each is the
// exact JSON text, so `\\u003c` below is the six characters \u003c.
describe('canonicalize', () => {
  test('reproduces the example of json.md', () => {
    const value = { zxcv: [{}, true, 1e9, 'tyui'], qwer: [], asdf: 1 };
    assert.equal(canonicalize(value), '{"asdf":1,"qwer":[],"zxcv":[{},true,1000000000,"tyui"]}');
  });

  test('removes all whitespace between tokens of parsed JSON', () => {
    const text = '{\n   "b" : [ 1 , 2 ],\n\t"a" : { "c" : null }\n}';
    assert.equal(canonicalize(JSON.parse(text)), '{"a":{"c":null},"b":[1,2]}');
  });

  test('writes empty and nested containers and literals', () => {
    assert.equal(canonicalize({}), '{}');
    assert.equal(canonicalize([]), '[]');
    assert.equal(canonicalize({ a: [[], [{}], { b: {} }] }), '{"a":[[],[{}],{"b":{}}]}');
    assert.equal(canonicalize([null, true, false]), '[null,true,false]');
  });

  test('sorts keys by code point, so uppercase before lowercase and a prefix first', () => {
    assert.equal(canonicalize({ b: 1, B: 2, a: 3, ab: 4 }), '{"B":2,"a":3,"ab":4,"b":1}');
  });

  test('sorts a character above U+FFFF after U+FF61, unlike UTF-16 order', () => {
    // U+1F600 is the pair D83D DE00 in UTF-16, which sorts before FF61 by code unit.
    assert.equal(canonicalize({ '\u{1f600}': 2, '\uff61': 1 }), '{"\uff61":1,"\u{1f600}":2}');
  });

  test('leaves object members that are undefined out', () => {
    assert.equal(canonicalize({ a: undefined, b: 1 }), '{"b":1}');
  });

  test('uses toJSON as JSON.stringify does', () => {
    assert.equal(canonicalize({ at: new Date(0) }), '{"at":"1970-01-01T00:00:00.000Z"}');
  });
});

describe('canonical strings', () => {
  const cases: [string, string, string][] = [
    [
      'escapes angle brackets and ampersand (json.md rule 6)',
      '<a>&</a>',
      '"\\u003ca\\u003e\\u0026\\u003c/a\\u003e"',
    ],
    ['escapes quote and backslash', 'say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'],
    ['writes \\b \\t \\n \\f \\r short', '\b\t\n\f\r', '"\\b\\t\\n\\f\\r"'],
    [
      'writes other control characters in lowercase hex',
      '\u0000\u0001\u000b\u001f',
      '"\\u0000\\u0001\\u000b\\u001f"',
    ],
    ['leaves slash and DEL as they are', 'a/b\u007f', '"a/b\u007f"'],
    ['leaves non-ASCII text as raw UTF-8', 'héllo 世界 \u{1f600}', '"héllo 世界 \u{1f600}"'],
    ['escapes the line and paragraph separators', 'a\u2028b\u2029', '"a\\u2028b\\u2029"'],
    ['writes a lone high surrogate as \\ufffd', 'a\ud800b', '"a\\ufffdb"'],
    ['writes a reversed pair as two \\ufffd', '\udc00\ud800', '"\\ufffd\\ufffd"'],
    ['leaves a string without specials alone', 'plain text', '"plain text"'],
    ['writes the empty string', '', '""'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      assert.equal(encodeString(input), expected);
      assert.equal(canonicalize({ [input]: input }), `{${expected}:${expected}}`);
    });
  }

  test('produces text JSON.parse reads back to the same value', () => {
    const value = { s: '<\u0000\u2028\u{1f600}"\\>', n: [0.1, -5, 1e-7] };
    assert.deepEqual(JSON.parse(canonicalize(value)), value);
  });
});

describe('canonical numbers', () => {
  const cases: [string, number | bigint, string][] = [
    ['an integer without a fraction', 1, '1'],
    ['a negative integer', -42, '-42'],
    ['1e20 in full', 1e20, '100000000000000000000'],
    ['1e21 with an exponent, as Go does', 1e21, '1e+21'],
    ['0.000001 in full', 0.000001, '0.000001'],
    ['1e-7 with an exponent, as Go does', 1e-7, '1e-7'],
    ['the shortest round-trip form of a float', 0.1 + 0.2, '0.30000000000000004'],
    ['negative zero as -0, as Go does', -0, '-0'],
    ['a bigint beyond 2^53 exactly', 2n ** 64n, '18446744073709551616'],
  ];
  for (const [name, input, expected] of cases) {
    test(`writes ${name}`, () => {
      assert.equal(canonicalize(input), expected);
    });
  }
});

describe('values canonical JSON cannot hold', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const cases: [string, unknown][] = [
    ['NaN', NaN],
    ['Infinity', [Infinity]],
    ['undefined at the top', undefined],
    ['undefined in an array', [undefined]],
    ['a function', { f: () => 1 }],
    ['a symbol', Symbol('s')],
    ['a cycle', cyclic],
    ['a Map', new Map()],
  ];
  for (const [name, value] of cases) {
    test(`refuses ${name} with a TypeError`, () => {
      assert.throws(() => canonicalize(value), TypeError);
    });
  }
});

describe('compareCodePoints', () => {
  test('orders by code point where UTF-16 order differs', () => {
    assert.ok(compareCodePoints('\uffff', '\u{10000}') < 0);
    assert.ok('\uffff' > '\u{10000}', 'the default string order is by UTF-16 code unit');
  });

  test('agrees with the default order below the surrogates and on prefixes', () => {
    const words = ['b', 'a', 'ab', 'B', '', 'é', '\ud7ff'];
    assert.deepEqual([...words].sort(compareCodePoints), [...words].sort());
  });
});
