/** `GET /token` (spec/auth/token.md): Basic credentials or anonymous, scopes intersected. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { writeHtpasswd } from '../helpers/token-keys.js';
import { ACL, ISSUER, SERVICE, USERS, decode, startFixture, type Fixture } from './fixture.js';

const q = (params: Record<string, string | string[]>): string => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const value of typeof v === 'string' ? [v] : v) search.append(k, value);
  }
  return search.toString();
};

describe('GET /token', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ expirationSeconds: 90 });
  });
  after(async () => {
    await fx?.stop();
  });

  test('with Basic credentials answers a signed token with every claim of jwt.md', async () => {
    const before = Math.floor(Date.now() / 1000);
    const scope = 'repository:team/app:pull,push';
    const { status, json } = await fx.get(q({ service: SERVICE, scope }), 'alice', USERS.alice);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.token, json.access_token);
    assert.equal(json.expires_in, 90);
    assert.equal(json.refresh_token, undefined, 'no refresh token unless offline_token=true');

    const { header, claims } = decode(json.token);
    assert.equal(header.typ, 'JWT');
    assert.equal(header.alg, 'ES256');
    assert.match(header.kid ?? '', /^[A-Z2-7]{4}(?::[A-Z2-7]{4}){11}$/);
    assert.equal(header.x5c, undefined, 'no x5c without a certificate');
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, SERVICE);
    assert.ok((claims.iat ?? 0) >= before);
    assert.equal(claims.nbf, claims.iat);
    assert.equal(claims.exp, (claims.iat ?? 0) + 90, 'exp is iat plus the expiration');
    assert.equal(json.issued_at, new Date((claims.iat ?? 0) * 1000).toISOString());
    assert.match(claims.jti ?? '', /^[A-Za-z0-9_-]{16,}$/);
    assert.deepEqual(claims.access, [
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    ]);
  });

  test('every token has its own jti', async () => {
    const a = decode((await fx.get(q({ service: SERVICE }), 'bob', USERS.bob)).json.token);
    const b = decode((await fx.get(q({ service: SERVICE }), 'bob', USERS.bob)).json.token);
    assert.notEqual(a.claims.jti, b.claims.jti);
  });

  test('asking push on a repository with only pull grants only pull', async () => {
    const scope = 'repository:team/app:pull,push';
    const { json } = await fx.get(q({ service: SERVICE, scope }), 'bob', USERS.bob);
    assert.deepEqual(decode(json.token).claims.access, [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
    ]);
    assert.equal(json.scope, 'repository:team/app:pull');
  });

  test('several scope parameters are answered in one token, each intersected', async () => {
    const scope = [
      'repository:team/app:pull,push',
      'repository:team/other:pull',
      'registry:catalog:*',
    ];
    const { json } = await fx.get(q({ service: SERVICE, scope }), 'robot', USERS.robot);
    assert.deepEqual(decode(json.token).claims.access, [
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/other', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: [] },
    ]);
  });

  test('a repository name with a registry port keeps its colon', async () => {
    const scope = 'repository:localhost:5000/x:pull';
    const { json } = await fx.get(q({ service: SERVICE, scope }), 'alice', USERS.alice);
    assert.deepEqual(decode(json.token).claims.access, [
      { type: 'repository', name: 'localhost:5000/x', actions: ['pull'] },
    ]);
  });

  test('a typed repository scope keeps its class in the access entry', async () => {
    const scope = 'repository(plugin):team/app:pull';
    const { json } = await fx.get(q({ service: SERVICE, scope }), 'alice', USERS.alice);
    assert.deepEqual(decode(json.token).claims.access, [
      { type: 'repository', class: 'plugin', name: 'team/app', actions: ['pull'] },
    ]);
  });

  test('without credentials the token is anonymous and grants what the ACL gives anyone', async () => {
    const scope = ['repository:public/app:pull,push', 'repository:team/app:pull'];
    const { status, json } = await fx.get(q({ service: SERVICE, scope }));
    assert.equal(status, 200);
    const { claims } = decode(json.token);
    assert.equal(claims.sub, '', 'jwt.md: the subject is empty for an anonymous client');
    assert.deepEqual(claims.access, [
      { type: 'repository', name: 'public/app', actions: ['pull'] },
      { type: 'repository', name: 'team/app', actions: [] },
    ]);
  });

  test('without a scope the token grants nothing (the login check of GET /v2/)', async () => {
    const { status, json } = await fx.get(q({ service: SERVICE }), 'bob', USERS.bob);
    assert.equal(status, 200);
    assert.deepEqual(decode(json.token).claims.access, []);
  });

  test('without service the first configured service is the audience', async () => {
    const { json } = await fx.get('', 'bob', USERS.bob);
    assert.equal(decode(json.token).claims.aud, SERVICE);
  });

  test('offline_token=true adds a refresh token, for authenticated clients only', async () => {
    const query = q({ service: SERVICE, offline_token: 'true', client_id: 'tests' });
    const named = await fx.get(query, 'bob', USERS.bob);
    assert.equal(typeof named.json.refresh_token, 'string');
    const anonymous = await fx.get(query);
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.json.refresh_token, undefined);
  });

  const refusals: [string, string | undefined, string | undefined, number, string][] = [
    ['a wrong password', 'bob', 'wrong', 401, 'invalid_grant'],
    ['an unknown user', 'nobody', 'whatever', 401, 'invalid_grant'],
    ['an empty password', 'bob', '', 401, 'invalid_grant'],
  ];
  for (const [what, user, password, status, code] of refusals) {
    test(`${what} is answered ${status} with a Basic challenge`, async () => {
      const res = await fx.get(q({ service: SERVICE }), user, password);
      assert.equal(res.status, status);
      assert.equal(res.json.error, code);
      assert.equal(res.json.token, undefined);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    });
  }

  test('an Authorization header that is not Basic is answered 401, not served as anonymous', async () => {
    const res = await fetch(`${fx.url}/token?service=${SERVICE}`, {
      headers: { authorization: 'Bearer abc' },
    });
    assert.equal(res.status, 401);
  });

  test('a service the server does not issue for is answered 400', async () => {
    const res = await fx.get(q({ service: 'elsewhere' }), 'bob', USERS.bob);
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_request');
  });

  test('a malformed scope is answered 400 invalid_scope', async () => {
    const res = await fx.get(
      q({ service: SERVICE, scope: 'repository:Bad:pull' }),
      'bob',
      USERS.bob,
    );
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_scope');
  });

  test('an edited ACL takes effect on the next request', async () => {
    const scope = 'repository:team/app:push';
    const ask = async () =>
      decode((await fx.get(q({ service: SERVICE, scope }), 'bob', USERS.bob)).json.token).claims
        .access;
    assert.deepEqual(await ask(), [{ type: 'repository', name: 'team/app', actions: [] }]);
    await writeFile(
      fx.aclFile,
      `${ACL}  - {subject: user:bob, repository: team/app, actions: [push]}\n`,
    );
    assert.deepEqual(await ask(), [{ type: 'repository', name: 'team/app', actions: ['push'] }]);
    await writeFile(fx.aclFile, ACL);
  });

  test('a user removed from htpasswd is refused on the next request', async () => {
    const rest = { alice: USERS.alice, bob: USERS.bob };
    await writeHtpasswd(fx.htpasswd, rest);
    const res = await fx.get(q({ service: SERVICE }), 'robot', USERS.robot);
    assert.equal(res.status, 401);
    await writeHtpasswd(fx.htpasswd, USERS);
    assert.equal((await fx.get(q({ service: SERVICE }), 'robot', USERS.robot)).status, 200);
  });

  test('the log names subjects and grants but holds no password and no token', async () => {
    const { json } = await fx.get(
      q({ service: SERVICE, scope: 'repository:team/app:pull', offline_token: 'true' }),
      'alice',
      USERS.alice,
    );
    await fx.get(q({ service: SERVICE }), 'alice', 'a-wrong-password');
    const logs = fx.logs();
    assert.match(logs, /"sub":"alice"/);
    assert.match(logs, /"granted":"repository:team\/app:pull"/);
    for (const secret of [USERS.alice, 'a-wrong-password', json.token, json.refresh_token]) {
      assert.ok(secret !== undefined && !logs.includes(secret), 'a secret reached the log');
    }
    assert.ok(!logs.includes(Buffer.from(`alice:${USERS.alice}`).toString('base64')));
  });
});
