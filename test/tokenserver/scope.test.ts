import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatScopes,
  parseScope,
  parseScopes,
  ScopeError,
  type ResourceScope,
} from '../../src/tokenserver/scope.js';

describe('parseScope', () => {
  const valid: [string, ResourceScope][] = [
    [
      'repository:samalba/my-app:pull,push',
      { type: 'repository', name: 'samalba/my-app', actions: ['pull', 'push'] },
    ],
    ['repository:app:pull', { type: 'repository', name: 'app', actions: ['pull'] }],
    [
      'repository:localhost:5000/team/app:pull',
      { type: 'repository', name: 'localhost:5000/team/app', actions: ['pull'] },
    ],
    [
      'repository:registry.example.com/a/b:push',
      { type: 'repository', name: 'registry.example.com/a/b', actions: ['push'] },
    ],
    [
      'repository(plugin):vieux/sshfs:pull',
      { type: 'repository', class: 'plugin', name: 'vieux/sshfs', actions: ['pull'] },
    ],
    ['registry:catalog:*', { type: 'registry', name: 'catalog', actions: ['*'] }],
    ['repository:a:delete', { type: 'repository', name: 'a', actions: ['delete'] }],
    ['repository:a:', { type: 'repository', name: 'a', actions: [] }],
    ['repository:a:pull,,pull', { type: 'repository', name: 'a', actions: ['pull'] }],
    [
      'repository:a_b/c-d/e.f__g:pull',
      { type: 'repository', name: 'a_b/c-d/e.f__g', actions: ['pull'] },
    ],
  ];
  for (const [text, expected] of valid) {
    test(`reads ${text}`, () => {
      assert.deepEqual(parseScope(text), expected);
    });
  }

  const invalid: [string, string][] = [
    ['repository', 'it has no colon'],
    ['repository:app', 'it has no actions part'],
    [':app:pull', 'the type is empty'],
    ['Repository:app:pull', 'the type is not lowercase'],
    ['repository(:app:pull', 'the class is not closed'],
    ['repository::pull', 'the name is empty'],
    ['repository:App:pull', 'the repository name has capitals'],
    ['repository:a//b:pull', 'the repository name has an empty component'],
    ['repository:../etc:pull', 'the repository name climbs out'],
    ['repository:a:Pull', 'an action is not lowercase'],
    ['repository:a:pull;push', 'an action has a stray character'],
    ['registry:cat alog:*', 'the name holds a space'],
  ];
  for (const [text, why] of invalid) {
    test(`refuses ${JSON.stringify(text)} because ${why}`, () => {
      assert.throws(() => parseScope(text), ScopeError);
    });
  }
});

describe('parseScopes', () => {
  test('splits space-separated lists and takes repeated parameters alike', () => {
    const scopes = parseScopes(['repository:a:pull repository:b:push', 'registry:catalog:*']);
    assert.deepEqual(
      scopes.map((s) => s.name),
      ['a', 'b', 'catalog'],
    );
  });

  test('merges the actions of scopes that name the same resource', () => {
    const scopes = parseScopes(['repository:a:pull', 'repository:a:push,pull']);
    assert.deepEqual(scopes, [{ type: 'repository', name: 'a', actions: ['pull', 'push'] }]);
  });

  test('keeps a typed repository apart from the plain one of the same name', () => {
    const scopes = parseScopes(['repository:a:pull', 'repository(plugin):a:pull']);
    assert.equal(scopes.length, 2);
  });

  test('ignores empty values and extra spaces', () => {
    assert.deepEqual(parseScopes(['', '  ']), []);
  });
});

describe('formatScopes', () => {
  test('writes granted scopes and leaves out those granted nothing', () => {
    const text = formatScopes([
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
      { type: 'repository', name: 'b', actions: [] },
      { type: 'repository', class: 'plugin', name: 'c', actions: ['pull'] },
    ]);
    assert.equal(text, 'repository:a:pull,push repository(plugin):c:pull');
  });
});
