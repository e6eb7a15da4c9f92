/** `POST /token` (spec/auth/oauth.md): password and refresh_token grants. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { writeHtpasswd } from '../helpers/token-keys.js';
import { SERVICE, USERS, decode, startFixture, type Fixture } from './fixture.js';

describe('POST /token', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ services: [SERVICE, 'second-registry'] });
  });
  after(async () => {
    await fx?.stop();
  });

  const password = (user: keyof typeof USERS, extra: Record<string, string> = {}) =>
    fx.post({
      grant_type: 'password',
      username: user,
      password: USERS[user],
      service: SERVICE,
      client_id: 'berth-tests',
      ...extra,
    });

  test('the password grant answers an access token and the granted scope', async () => {
    const { status, json } = await password('bob', { scope: 'repository:team/app:pull,push' });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.access_token, json.token);
    assert.equal(json.scope, 'repository:team/app:pull');
    assert.equal(json.expires_in, 300);
    assert.equal(json.refresh_token, undefined, 'online access by default');
    const { claims } = decode(json.access_token);
    assert.equal(claims.sub, 'bob');
    assert.equal(claims.aud, SERVICE);
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  });

  test('one scope field may list several scopes separated by spaces', async () => {
    const { json } = await password('robot', {
      scope: 'repository:team/a:push repository:team/b:pull',
    });
    assert.equal(json.scope, 'repository:team/a:push repository:team/b:pull');
  });

  test('access_type=offline adds a refresh token that is not an access token', async () => {
    const { json } = await password('bob', { access_type: 'offline' });
    assert.equal(typeof json.refresh_token, 'string');
    const { header, claims } = decode(json.refresh_token);
    assert.notEqual(header.typ, 'JWT');
    assert.notEqual(claims.aud, SERVICE, 'a registry for the service must refuse it');
    assert.equal(claims.access, undefined);
  });

  test('a refresh token buys access tokens with new scopes and is handed back', async () => {
    const refresh = (await password('robot', { access_type: 'offline' })).json.refresh_token ?? '';
    const { status, json } = await fx.post({
      grant_type: 'refresh_token',
      refresh_token: refresh,
      service: SERVICE,
      client_id: 'berth-tests',
      scope: 'repository:team/x:pull,push,delete',
    });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.refresh_token, refresh, 'oauth.md: the same refresh token comes back');
    const { claims } = decode(json.access_token);
    assert.equal(claims.sub, 'robot');
    assert.deepEqual(claims.access, [
      { type: 'repository', name: 'team/x', actions: ['pull', 'push'] },
    ]);
  });

  test('a refresh token from GET offline_token=true works with POST', async () => {
    const get = await fx.get(`service=${SERVICE}&offline_token=true`, 'bob', USERS.bob);
    const { status } = await fx.post({
      grant_type: 'refresh_token',
      refresh_token: get.json.refresh_token ?? '',
      service: SERVICE,
    });
    assert.equal(status, 200);
  });

  test('a refresh token is good only for the service it was issued for', async () => {
    const refresh = (await password('bob', { access_type: 'offline' })).json.refresh_token ?? '';
    const { status, json } = await fx.post({
      grant_type: 'refresh_token',
      refresh_token: refresh,
      service: 'second-registry',
    });
    assert.equal(status, 401);
    assert.equal(json.error, 'invalid_grant');
  });

  test('an access token is not accepted as a refresh token', async () => {
    const access = (await password('bob')).json.access_token ?? '';
    const { status } = await fx.post({
      grant_type: 'refresh_token',
      refresh_token: access,
      service: SERVICE,
    });
    assert.equal(status, 401);
  });

  test('a tampered refresh token is refused', async () => {
    const refresh = (await password('bob', { access_type: 'offline' })).json.refresh_token ?? '';
    const [h, p, s] = refresh.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as object;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'alice' })).toString('base64url');
    const { status } = await fx.post({
      grant_type: 'refresh_token',
      refresh_token: `${h}.${forged}.${s}`,
      service: SERVICE,
    });
    assert.equal(status, 401);
  });

  test('a refresh token stops working when its user is removed from htpasswd', async () => {
    const refresh = (await password('robot', { access_type: 'offline' })).json.refresh_token ?? '';
    const rest = { alice: USERS.alice, bob: USERS.bob };
    await writeHtpasswd(fx.htpasswd, rest);
    try {
      const { status } = await fx.post({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        service: SERVICE,
      });
      assert.equal(status, 401);
    } finally {
      await writeHtpasswd(fx.htpasswd, USERS);
    }
  });

  test("a refresh token stops working when its user's password changes", async () => {
    const refresh = (await password('bob', { access_type: 'offline' })).json.refresh_token ?? '';
    await writeHtpasswd(fx.htpasswd, { ...USERS, bob: 'a-new-password' });
    try {
      const { status } = await fx.post({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        service: SERVICE,
      });
      assert.equal(status, 401);
    } finally {
      await writeHtpasswd(fx.htpasswd, USERS);
    }
  });

  const refusals: [string, Record<string, string>, number, string][] = [
    [
      'a wrong password',
      { grant_type: 'password', username: 'bob', password: 'x', service: SERVICE },
      401,
      'invalid_grant',
    ],
    [
      'a missing username',
      { grant_type: 'password', password: 'x', service: SERVICE },
      401,
      'invalid_grant',
    ],
    [
      'a garbage refresh token',
      { grant_type: 'refresh_token', refresh_token: 'abc', service: SERVICE },
      401,
      'invalid_grant',
    ],
    ['a missing grant_type', { service: SERVICE }, 400, 'invalid_request'],
    [
      'the authorization_code grant',
      { grant_type: 'authorization_code', service: SERVICE },
      400,
      'unsupported_grant_type',
    ],
    [
      'an unknown service',
      { grant_type: 'password', username: 'bob', password: USERS.bob, service: 'x' },
      400,
      'invalid_request',
    ],
  ];
  for (const [what, form, status, code] of refusals) {
    test(`${what} is answered ${status} ${code}`, async () => {
      const res = await fx.post(form);
      assert.equal(res.status, status);
      assert.equal(res.json.error, code);
    });
  }

  test('a body that is not form-encoded is answered 400', async () => {
    const res = await fetch(`${fx.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password' }),
    });
    assert.equal(res.status, 400);
  });

  test('the log never holds the posted password or the refresh token', async () => {
    const { json } = await password('alice', { access_type: 'offline' });
    const logs = fx.logs();
    assert.ok(!logs.includes(USERS.alice));
    assert.ok(json.refresh_token !== undefined && !logs.includes(json.refresh_token));
  });
});
