import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { TokenAccessController } from '../../src/auth/token.js';
import { libtrustKeyId } from '../../src/auth/token-keys.js';
import type { TokenAuthConfig } from '../../src/config/types.js';
import { assertRefused, captureLog, ORIGIN, request } from './helpers.js';
import {
  bearer,
  catalog,
  challenge,
  config,
  fx,
  granted,
  openWith,
  pullA,
  pushA,
  repo,
  SERVICE,
  sign,
  useTokenFixture,
  type Signing,
} from './token-fixture.js';

useTokenFixture();

test('a token whose x5c chain leads to a bundle certificate is accepted', async () => {
  const cases: [string, Signing][] = [
    [
      'leaf issued by the root',
      { key: fx.pki.rootLeaf.key, alg: 'ES256', header: { x5c: [fx.pki.rootLeaf.x5c] } },
    ],
    [
      'leaf, intermediate',
      {
        key: fx.pki.leaf.key,
        alg: 'RS256',
        header: { x5c: [fx.pki.leaf.x5c, fx.pki.intermediate.x5c] },
      },
    ],
    [
      'leaf, intermediate, root',
      {
        key: fx.pki.leaf.key,
        alg: 'PS384',
        header: { x5c: [fx.pki.leaf.x5c, fx.pki.intermediate.x5c, fx.pki.root.x5c] },
      },
    ],
    [
      'a bundle certificate itself',
      { key: fx.pki.direct.key, alg: 'EdDSA', header: { x5c: [fx.pki.direct.x5c] } },
    ],
  ];
  for (const [name, signing] of cases) {
    assert.equal(await granted(bearer(await sign(signing)), pullA), 'alice', name);
  }
});

test('a kid selects a JWKS key or a bundle certificate by libtrust id or thumbprint', async () => {
  const directJwk = await exportJWK(fx.pki.direct.cert.publicKey);
  const cases: [string, Signing][] = [
    ['JWKS EC key', {}],
    [
      'JWKS RSA key',
      { key: fx.pki.jwksRsa.key, alg: 'RS512', header: { kid: fx.pki.jwksRsa.kid } },
    ],
    [
      'libtrust id',
      {
        key: fx.pki.direct.key,
        alg: 'EdDSA',
        header: { kid: libtrustKeyId(fx.pki.direct.cert.publicKey) },
      },
    ],
    [
      'RFC 7638 thumbprint',
      {
        key: fx.pki.direct.key,
        alg: 'EdDSA',
        header: { kid: await calculateJwkThumbprint(directJwk) },
      },
    ],
  ];
  for (const [name, signing] of cases) {
    assert.equal(await granted(bearer(await sign(signing)), pullA), 'alice', name);
  }
});

test('the libtrust key id matches the example in jwt.md', () => {
  const key = createPublicKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: 'm7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q',
      y: 'dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc',
    },
  });
  assert.equal(libtrustKeyId(key), 'PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6');
});

test('without kid or x5c, the only certificate of a one-certificate bundle is used', async () => {
  const single = await openWith({ rootcertbundle: fx.pki.singleBundle, jwks: null });
  const token = await sign({ key: fx.pki.direct.key, alg: 'EdDSA', header: {} });
  assert.equal(await granted(bearer(token), pullA, single.controller), 'alice');
  // With two certificates in the bundle, there is no telling which one was meant.
  const two = await openWith({ jwks: null });
  await assertRefused(two.controller.authorize(request(bearer(token)), pullA), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: challenge(pullA, 'invalid_token'),
  });
});

test('granted actions are the union of the claim entries, and * grants every action', async () => {
  const token = async (access: unknown[]) => bearer(await sign({ claims: { access } }));
  const split = await token([
    { type: 'repository', name: 'team/a', actions: ['pull'] },
    { type: 'repository', name: 'team/a', actions: ['push'] },
  ]);
  assert.equal(await granted(split, pushA), 'alice');
  const star = await token([{ type: 'repository', name: 'team/a', actions: ['*'] }]);
  assert.equal(await granted(star, [repo('team/a', 'pull', 'push', 'delete')]), 'alice');
  const cat = await token([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  assert.equal(await granted(cat, catalog), 'alice');
  const cross = await token([
    { type: 'repository', name: 'team/b', actions: ['pull', 'push'] },
    { type: 'repository', name: 'team/a', actions: ['pull'] },
  ]);
  assert.equal(await granted(cross, [repo('team/b', 'pull', 'push'), ...pullA]), 'alice');
});

test('a valid token with no access claim is enough for the base endpoint', async () => {
  const token = await sign({ without: ['access', 'sub'] });
  assert.equal(await granted(bearer(token), []), '');
});

test('an audience list containing the service is accepted', async () => {
  const token = await sign({ claims: { aud: ['other', SERVICE] } });
  assert.equal(await granted(bearer(token), pullA), 'alice');
});

test('with autoredirect the realm is the request origin plus the configured path', async () => {
  const redirecting = await openWith({ autoredirect: true, autoredirectpath: '/v2/token' });
  await assertRefused(redirecting.controller.authorize(request(), pullA), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: `Bearer realm="${ORIGIN}/v2/token",service="${SERVICE}",scope="repository:team/a:pull"`,
  });
});

test('a verified token is remembered and not verified again', async () => {
  const opened = await openWith();
  const verifications = () => opened.lines().filter((l) => l['msg'] === 'token verified').length;
  const token = bearer(await sign());
  assert.equal(await granted(token, pullA, opened.controller), 'alice');
  assert.equal(await granted(token, [], opened.controller), 'alice');
  await assertRefused(opened.controller.authorize(request(token), pushA), {
    status: 403,
    code: 'DENIED',
    challenge: challenge(pushA, 'insufficient_scope'),
  });
  await Promise.all([1, 2, 3].map(() => granted(token, pullA, opened.controller)));
  assert.equal(verifications(), 1);
});

test('the token cache is bounded, dropping the oldest entry first', async () => {
  const opened = await openWith({}, { cacheSize: 1 });
  const verifications = () => opened.lines().filter((l) => l['msg'] === 'token verified').length;
  const a = bearer(await sign({ claims: { sub: 'a' } }));
  const b = bearer(await sign({ claims: { sub: 'b' } }));
  for (const token of [a, b, a]) await granted(token, pullA, opened.controller);
  assert.equal(verifications(), 3);
});

test('a controller without a key or a usable algorithm does not start', async () => {
  const { log } = captureLog();
  const open = (overrides: Partial<TokenAuthConfig>) =>
    TokenAccessController.open(config(overrides), log);
  await assert.rejects(
    open({ rootcertbundle: join(fx.pki.dir, 'missing.pem'), jwks: null }),
    /ENOENT/,
  );
  await assert.rejects(
    open({ rootcertbundle: join(fx.pki.dir, 'ca.ext'), jwks: null }),
    /no signing key/,
  );
  // The loader refuses these; a configuration built some other way must not slip them in.
  await assert.rejects(open({ signingalgorithms: ['none', 'HS256'] }), /no usable signing/);
});

test('symmetric JWKS keys are ignored with a warning', () => {
  const warned = fx
    .lines()
    .filter((l) => l['msg'] === 'jwks key ignored, symmetric keys are not accepted');
  assert.deepEqual(
    warned.map((l) => l['kid']),
    ['hmac'],
  );
});
