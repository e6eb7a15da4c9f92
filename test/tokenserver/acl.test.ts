import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Acl, compileGlob } from '../../src/tokenserver/acl.js';
import { parseScope } from '../../src/tokenserver/scope.js';
import { TokenServerConfigError } from '../../src/tokenserver/yaml-file.js';

describe('compileGlob', () => {
  const cases: [string, string, boolean][] = [
    ['team/*', 'team/app', true],
    ['team/*', 'team/app/sub', false],
    ['team/*', 'team', false],
    ['team/**', 'team/app/sub', true],
    ['team/**', 'teammate/app', false],
    ['*/app', 'team/app', true],
    ['*/app', 'a/b/app', false],
    ['**/app', 'a/b/app', true],
    ['**', 'anything/at/all', true],
    ['app-*', 'app-1', true],
    ['a.b', 'aXb', false],
    ['a.b', 'a.b', true],
    ['localhost:5000/*', 'localhost:5000/app', true],
  ];
  for (const [glob, name, matches] of cases) {
    test(`${glob} ${matches ? 'matches' : 'does not match'} ${name}`, () => {
      assert.equal(compileGlob(glob).test(name), matches);
    });
  }
});

const aclText = `
groups:
  admins: [alice]
  ci: [robot, carol]
rules:
  - subject: group:admins
    repository: '**'
    actions: ['*']
  - subject: group:ci
    repository: team/*
    actions: [pull, push]
  - subject: user:bob
    repository: team/app
    actions: [pull]
  - subject: [user:dave, user:erin]
    repository: shared/**
    actions: [pull, delete]
  - subject: anonymous
    repository: public/*
    actions: [pull]
  - subject: '*'
    repository: library/*
    actions: [pull]
  - subject: '*'
    registry: catalog
    actions: ['*']
`;

describe('Acl.grantedActions', () => {
  const acl = Acl.parse(aclText);
  const cases: [string | null, string, string[]][] = [
    ['alice', 'repository:any/thing:pull,push,delete', ['pull', 'push', 'delete']],
    ['alice', 'repository:x:*', ['*']],
    ['alice', 'repository:x:pull,foo,delete', ['pull', 'delete']],
    ['alice', 'registry:catalog:*', ['*']],
    ['robot', 'repository:team/app:pull,push,delete', ['pull', 'push']],
    ['robot', 'repository:team/app/deep:pull', []],
    ['carol', 'repository:team/other:push', ['push']],
    ['bob', 'repository:team/app:pull,push', ['pull']],
    ['bob', 'repository:team/other:pull', []],
    ['bob', 'repository:x:*', []],
    ['dave', 'repository:shared/a/b:pull,push,delete', ['pull', 'delete']],
    ['erin', 'repository:shared/a:delete', ['delete']],
    [null, 'repository:public/app:pull,push', ['pull']],
    [null, 'repository:library/app:pull', []],
    [null, 'registry:catalog:*', []],
    ['bob', 'repository:public/app:pull', ['pull']],
    ['bob', 'repository:library/app:pull,push', ['pull']],
    ['bob', 'registry:catalog:*', ['*']],
    ['mallory', 'repository:team/app:pull', []],
    ['alice', 'repository(plugin):team/app:pull', ['pull']],
    ['robot', 'repository(plugin):team/app:pull', ['pull']],
    ['alice', 'unknown:thing:pull', []],
    ['bob', 'registry:catalog:pull', ['pull']],
  ];
  for (const [user, scope, expected] of cases) {
    const who = user === null ? 'an anonymous client' : user;
    test(`${who} asking ${scope} is granted [${expected.join(',')}]`, () => {
      assert.deepEqual(acl.grantedActions(user, parseScope(scope)), expected);
    });
  }

  test('a user in no group and without rules of their own gets what everyone gets', () => {
    assert.deepEqual(acl.grantedActions('zed', parseScope('repository:library/x:pull')), ['pull']);
  });

  test('an empty ACL grants nothing, even to a named user', () => {
    assert.deepEqual(Acl.empty().grantedActions('alice', parseScope('repository:a:pull')), []);
    assert.deepEqual(Acl.parse('').grantedActions('alice', parseScope('repository:a:pull')), []);
  });
});

describe('Acl.parse', () => {
  const problems = (text: string): string[] => {
    try {
      Acl.parse(text, 'acl.yml');
    } catch (err) {
      assert.ok(err instanceof TokenServerConfigError);
      return err.problems;
    }
    assert.fail('the ACL was accepted');
  };

  test('names unknown keys at every level', () => {
    const found = problems(
      'grups: {}\nrules:\n  - subject: anonymous\n    repository: a\n    actions: [pull]\n    action: [push]\n',
    );
    assert.ok(found.includes('grups: unknown key'), found.join('\n'));
    assert.ok(found.includes('rules.0.action: unknown key'), found.join('\n'));
  });

  test('refuses a rule that names both a repository and the registry', () => {
    const found = problems(
      'rules:\n  - {subject: anonymous, repository: a, registry: catalog, actions: [pull]}\n',
    );
    assert.match(found.join('\n'), /exactly one of repository or registry/);
  });

  test('refuses a rule that names no resource', () => {
    const found = problems('rules:\n  - {subject: anonymous, actions: [pull]}\n');
    assert.match(found.join('\n'), /exactly one of repository or registry/);
  });

  test('refuses subjects other than user:, group:, anonymous and *', () => {
    const found = problems('rules:\n  - {subject: bob, repository: a, actions: [pull]}\n');
    assert.match(found.join('\n'), /^rules\.0\.subject/m);
  });

  test('refuses a rule naming a group that is not defined', () => {
    const found = problems('rules:\n  - {subject: group:admns, repository: a, actions: [pull]}\n');
    assert.deepEqual(found, ['rules.0.subject: group admns is not defined']);
  });

  test('refuses actions that are not words or *', () => {
    const found = problems('rules:\n  - {subject: anonymous, repository: a, actions: [Pull]}\n');
    assert.match(found.join('\n'), /^rules\.0\.actions\.0/m);
  });

  test('refuses text that is not YAML', () => {
    assert.match(problems('rules: [').join('\n'), /not valid YAML/);
  });
});
