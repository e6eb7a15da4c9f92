import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { TOKEN_SIGNING_ALGORITHMS } from '../../src/config/schema.js';

const CWD = '/srv/berth';
const MINIMAL = 'version: 0.1\nstorage:\n  inmemory:\n';

async function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-auth-'));
  const file = join(dir, 'config.yml');
  await writeFile(file, `${MINIMAL}${text}`);
  return loadConfig(file, env, CWD);
}

async function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const err = await load(text, env).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  return err.problems;
}

test('an htpasswd section loads with its path resolved against the working directory', async () => {
  const { config } = await load('auth:\n  htpasswd:\n    realm: Berth\n    path: auth/htpasswd\n');
  assert.deepEqual(config.auth, {
    kind: 'htpasswd',
    realm: 'Berth',
    path: '/srv/berth/auth/htpasswd',
  });
});

test('a silly section loads as written', async () => {
  const { config } = await load('auth:\n  silly:\n    realm: r\n    service: s\n');
  assert.deepEqual(config.auth, { kind: 'silly', realm: 'r', service: 's' });
});

test('a token section gets the reference defaults and resolved key paths', async () => {
  const { config } = await load(
    'auth:\n  token:\n    realm: https://auth.example.com/token\n    service: registry\n' +
      '    issuer: auth.example.com\n    rootcertbundle: certs/bundle.pem\n',
  );
  assert.deepEqual(config.auth, {
    kind: 'token',
    realm: 'https://auth.example.com/token',
    service: 'registry',
    issuer: 'auth.example.com',
    rootcertbundle: '/srv/berth/certs/bundle.pem',
    jwks: null,
    autoredirect: false,
    autoredirectpath: '/auth/token',
    signingalgorithms: [...TOKEN_SIGNING_ALGORITHMS],
  });
  assert.ok(!TOKEN_SIGNING_ALGORITHMS.some((alg) => alg === 'none' || alg.startsWith('HS')));
});

test('no section, an empty one, or none means an open registry', async () => {
  for (const text of ['', 'auth:\n', 'auth: {}\n', 'auth:\n  none:\n', 'auth: none\n']) {
    const { config } = await load(text);
    assert.equal(config.auth, null, JSON.stringify(text));
  }
});

test('environment variables configure auth key by key', async () => {
  const { config, warnings } = await load('', {
    REGISTRY_AUTH_HTPASSWD_REALM: 'Berth',
    REGISTRY_AUTH_HTPASSWD_PATH: '/etc/berth/htpasswd',
    REGISTRY_AUTH_FILE: '/run/user/1000/containers/auth.json',
  });
  assert.deepEqual(config.auth, { kind: 'htpasswd', realm: 'Berth', path: '/etc/berth/htpasswd' });
  assert.ok(
    warnings.some((w) => w.includes('REGISTRY_AUTH_FILE')),
    'podman variable: a warning',
  );

  const token = await load('', {
    REGISTRY_AUTH_TOKEN_REALM: 'https://auth.example.com/token',
    REGISTRY_AUTH_TOKEN_SERVICE: 'registry',
    REGISTRY_AUTH_TOKEN_ISSUER: 'issuer',
    REGISTRY_AUTH_TOKEN_JWKS: '/etc/berth/jwks.json',
    REGISTRY_AUTH_TOKEN_AUTOREDIRECT: 'true',
    REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS: '[ES256, EdDSA]',
  });
  assert.equal(token.config.auth?.kind, 'token');
  assert.deepEqual(token.config.auth, {
    ...token.config.auth,
    jwks: '/etc/berth/jwks.json',
    autoredirect: true,
    signingalgorithms: ['ES256', 'EdDSA'],
  });
});

test('REGISTRY_AUTH=none turns off the auth section of the file', async () => {
  const { config } = await load('auth:\n  htpasswd:\n    realm: r\n    path: /p\n', {
    REGISTRY_AUTH: 'none',
  });
  assert.equal(config.auth, null);
});

test('invalid auth sections are rejected with every problem named by its dotted key', async () => {
  const cases: [string, string[]][] = [
    ['auth:\n  htpasswd:\n', ['auth.htpasswd.realm: required', 'auth.htpasswd.path: required']],
    [
      'auth:\n  htpasswd:\n    realm: r\n    path: /p\n  silly:\n    realm: r\n    service: s\n',
      ['auth: more than one auth provider (silly, htpasswd); expected at most one'],
    ],
    [
      'auth:\n  silly:\n    realm: r\n    service: ""\n    extra: 1\n',
      ['auth.silly.service: expected a non-empty string', 'auth.silly.extra: unknown key'],
    ],
    [
      'auth:\n  token:\n    realm: r\n    service: s\n    issuer: i\n',
      ['auth.token: expected at least one of rootcertbundle, jwks'],
    ],
    [
      'auth:\n  token:\n    realm: r\n    service: s\n    issuer: i\n    jwks: /j\n' +
        '    autoredirectpath: token\n    signingalgorithms: [none, HS256, RS256, XS1]\n',
      [
        'auth.token.autoredirectpath: expected a path starting with /',
        'auth.token.signingalgorithms.0: none is refused: tokens must be signed',
        'auth.token.signingalgorithms.1: HS256 is refused: an HMAC algorithm would accept a ' +
          'public key as its secret',
        `auth.token.signingalgorithms.3: unsupported algorithm XS1; expected one of ${TOKEN_SIGNING_ALGORITHMS.join(', ')}`,
      ],
    ],
    ['auth: [htpasswd]\n', ['auth: expected object, got a list']],
    ['auth:\n  ldap:\n    url: x\n', ['auth.ldap: unknown key']],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(await problemsOf(text), expected, text);
  }
});

test('an auth problem caused by an environment variable names the variable', async () => {
  const problems = await problemsOf('', {
    REGISTRY_AUTH_TOKEN_REALM: 'r',
    REGISTRY_AUTH_TOKEN_SERVICE: 's',
    REGISTRY_AUTH_TOKEN_ISSUER: 'i',
    REGISTRY_AUTH_TOKEN_JWKS: '/j',
    REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS: 'HS512',
  });
  assert.deepEqual(problems, [
    'auth.token.signingalgorithms.0: HS512 is refused: an HMAC algorithm would accept a public ' +
      'key as its secret (set by REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS)',
  ]);
});
