import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessDetail,
  basicChallenge,
  bearerChallenge,
  denied,
  quote,
  scopeParam,
  unauthorized,
} from '../../src/auth/challenge.js';
import type { Access } from '../../src/auth/types.js';

const pullA: Access = { type: 'repository', name: 'a', actions: ['pull'] };
const pushA: Access = { type: 'repository', name: 'a', actions: ['pull', 'push'] };
const pullB: Access = { type: 'repository', name: 'team/b', actions: ['pull'] };
const catalog: Access = { type: 'registry', name: 'catalog', actions: ['*'] };

test('scopes are grouped per resource, actions comma-separated, resources space-separated', () => {
  const cases: [Access[], string][] = [
    [[], ''],
    [[pullA], 'repository:a:pull'],
    [[pushA, pullB], 'repository:a:pull,push repository:team/b:pull'],
    [[pullA, pushA], 'repository:a:pull,push'],
    [[catalog], 'registry:catalog:*'],
    [[{ type: 'repository', name: 'a', actions: [] }], ''],
    [
      [{ type: 'repository', name: 'host:5000/a', actions: ['pull'] }],
      'repository:host:5000/a:pull',
    ],
  ];
  for (const [access, expected] of cases) {
    assert.equal(scopeParam(access), expected, JSON.stringify(access));
  }
});

test('quoted values escape quotes and backslashes and drop control characters', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['split\r\nWWW-Authenticate: x', '"splitWWW-Authenticate: x"'],
    ['tab\there', '"tab\there"'],
    ['', '""'],
  ];
  for (const [value, expected] of cases) assert.equal(quote(value), expected, value);
});

test('a Basic challenge names the realm', () => {
  assert.equal(basicChallenge('Berth "dev"'), 'Basic realm="Berth \\"dev\\""');
});

test('a Bearer challenge lists realm, service, scope and error in the reference order', () => {
  const realm = 'https://auth.example.com/token';
  const cases: [Parameters<typeof bearerChallenge>[0], string][] = [
    [
      { realm, service: 'registry', access: [] },
      'Bearer realm="https://auth.example.com/token",service="registry"',
    ],
    [
      { realm, service: 'registry', access: [pushA, pullB] },
      'Bearer realm="https://auth.example.com/token",service="registry",' +
        'scope="repository:a:pull,push repository:team/b:pull"',
    ],
    [
      { realm, service: 'registry', access: [pullA], error: 'insufficient_scope' },
      'Bearer realm="https://auth.example.com/token",service="registry",' +
        'scope="repository:a:pull",error="insufficient_scope"',
    ],
    [
      { realm, service: 'registry', access: [], error: 'invalid_token' },
      'Bearer realm="https://auth.example.com/token",service="registry",error="invalid_token"',
    ],
  ];
  for (const [challenge, expected] of cases) assert.equal(bearerChallenge(challenge), expected);
});

test('the error detail lists one entry per action, as the reference serialises access', () => {
  assert.deepEqual(accessDetail([pushA, catalog]), [
    { Type: 'repository', Name: 'a', Action: 'pull' },
    { Type: 'repository', Name: 'a', Action: 'push' },
    { Type: 'registry', Name: 'catalog', Action: '*' },
  ]);
  assert.equal(accessDetail([]), null);
});

test('unauthorized is a 401 UNAUTHORIZED carrying the challenge header', () => {
  const err = unauthorized('Basic realm="r"', [pullA]);
  assert.equal(err.status, 401);
  assert.equal(err.code, 'UNAUTHORIZED');
  assert.deepEqual(err.headers, { 'WWW-Authenticate': 'Basic realm="r"' });
  assert.deepEqual(JSON.parse(err.toBody()), {
    errors: [
      {
        code: 'UNAUTHORIZED',
        message: 'authentication required',
        detail: [{ Type: 'repository', Name: 'a', Action: 'pull' }],
      },
    ],
  });
});

test('denied is a 403 DENIED without a challenge', () => {
  const err = denied([pullA]);
  assert.equal(err.status, 403);
  assert.equal(err.code, 'DENIED');
  assert.equal(err.headers, undefined);
  assert.deepEqual(err.detail, [{ Type: 'repository', Name: 'a', Action: 'pull' }]);
});
