/** The published JWKS, and tokens verified with jose the way a registry verifies them. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, importX509, jwtVerify, type JSONWebKeySet } from 'jose';
import type { KeyKind } from '../helpers/token-keys.js';
import { ISSUER, SERVICE, USERS, decode, startFixture, type Fixture } from './fixture.js';

const scope = 'scope=repository:team/app:pull';

async function fetchJwks(url: string, path: string): Promise<JSONWebKeySet> {
  const res = await fetch(`${url}${path}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as JSONWebKeySet;
}

describe('JWKS and token verification', () => {
  const kinds: [KeyKind, string, string][] = [
    ['rsa', 'RS256', 'RSA'],
    ['ec256', 'ES256', 'EC'],
    ['ec384', 'ES384', 'EC'],
    ['ec521', 'ES512', 'EC'],
    ['ed25519', 'EdDSA', 'OKP'],
  ];
  for (const [kind, alg, kty] of kinds) {
    test(`a ${kind} token verifies against the published ${kty} JWKS by its kid`, async () => {
      const fx = await startFixture({ key: kind });
      try {
        const jwks = await fetchJwks(fx.url, '/.well-known/jwks.json');
        assert.deepEqual(await fetchJwks(fx.url, '/jwks'), jwks, '/jwks is the same document');
        assert.equal(jwks.keys.length, 1);
        const [jwk] = jwks.keys;
        assert.equal(jwk?.kty, kty);
        assert.equal(jwk.alg, alg);
        assert.equal(jwk.use, 'sig');
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
          assert.equal((jwk as Record<string, unknown>)[secret], undefined, `no ${secret}`);
        }

        const { json } = await fx.get(`service=${SERVICE}&${scope}`, 'bob', USERS.bob);
        const token = json.token ?? '';
        assert.equal(decode(token).header.kid, jwk.kid);
        const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
          issuer: ISSUER,
          audience: SERVICE,
          algorithms: [alg],
        });
        assert.equal(protectedHeader.alg, alg);
        assert.equal(payload.sub, 'bob');
      } finally {
        await fx.stop();
      }
    });
  }

  test('the JWKS refuses other methods', async () => {
    const fx = await startFixture();
    try {
      const res = await fetch(`${fx.url}/jwks`, { method: 'POST' });
      assert.equal(res.status, 405);
      assert.equal((await fetch(`${fx.url}/nothing`)).status, 404);
    } finally {
      await fx.stop();
    }
  });
});

describe('tokens of a key with a certificate', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ certificate: true });
  });
  after(async () => {
    await fx?.stop();
  });

  test('carry the certificate in x5c, and verify with its key up to the CA', async () => {
    const { json } = await fx.get(`service=${SERVICE}&${scope}`, 'bob', USERS.bob);
    const token = json.token ?? '';
    const { header } = decode(token);
    assert.ok(Array.isArray(header.x5c) && header.x5c.length >= 1, 'x5c present');
    assert.equal(typeof header.kid, 'string', 'kid is kept beside x5c');

    const leafB64 = header.x5c[0] ?? '';
    const leaf = new X509Certificate(Buffer.from(leafB64, 'base64'));
    const ca = new X509Certificate(fx.caPem ?? '');
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is issued by the CA');

    const pem = `-----BEGIN CERTIFICATE-----\n${leafB64}\n-----END CERTIFICATE-----`;
    const key = await importX509(pem, header.alg ?? '');
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: SERVICE });
    assert.deepEqual(payload['access'], [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
    ]);
  });

  test('the JWKS carries the same chain', async () => {
    const jwks = await fetchJwks(fx.url, '/.well-known/jwks.json');
    const { json } = await fx.get(`service=${SERVICE}`, 'bob', USERS.bob);
    assert.deepEqual(jwks.keys[0]?.x5c, decode(json.token).header.x5c);
  });
});
