import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { libtrustKeyId } from '../../src/auth/token-keys.js';
import type { Access } from '../../src/auth/types.js';
import { assertRefused, request } from './helpers.js';
import {
  bearer,
  catalog,
  challenge,
  fx,
  pullA,
  pushA,
  repo,
  sign,
  useTokenFixture,
} from './token-fixture.js';

useTokenFixture();

// 401 when the token does not name a needed resource (a wider token may help), 403 DENIED
// when it names them all but lacks an action; both with the insufficient_scope challenge.
test('a token lacking access is refused with insufficient_scope, 401 or 403 DENIED', async () => {
  const cases: [string, unknown[], Access[], 401 | 403][] = [
    [
      'token for a used for b',
      [{ type: 'repository', name: 'team/a', actions: ['*'] }],
      [repo('team/b', 'pull')],
      401,
    ],
    [
      'pull token used to push',
      [{ type: 'repository', name: 'team/a', actions: ['pull'] }],
      pushA,
      403,
    ],
    [
      'catalog without registry:catalog:*',
      [{ type: 'repository', name: 'team/a', actions: ['*'] }],
      catalog,
      401,
    ],
    [
      'catalog with a narrower grant',
      [{ type: 'registry', name: 'catalog', actions: ['pull'] }],
      catalog,
      403,
    ],
    [
      'mount without pull on the source',
      [{ type: 'repository', name: 'team/b', actions: ['pull', 'push'] }],
      [repo('team/b', 'pull', 'push'), ...pullA],
      401,
    ],
    ['same name, other type', [{ type: 'registry', name: 'team/a', actions: ['*'] }], pullA, 401],
  ];
  for (const [name, access, needed, status] of cases) {
    const token = await sign({ claims: { access } });
    await assertRefused(fx.controller.authorize(request(bearer(token)), needed), {
      status,
      code: status === 401 ? 'UNAUTHORIZED' : 'DENIED',
      challenge: challenge(needed, 'insufficient_scope'),
    }).catch((err: unknown) => assert.fail(`${name}: ${String(err)}`));
  }
});

test('invalid tokens get 401 invalid_token with the scope', async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = await sign();
  const [h, p, s] = good.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const reencode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const publicPem = createPublicKey(fx.pki.jwksEc.key).export({ format: 'pem', type: 'spki' });
  const certPem = fx.pki.direct.cert.toString();
  const cases: [string, string | Promise<string>][] = [
    ['expired', sign({ claims: { iat: now - 900, nbf: now - 900, exp: now - 120 } })],
    ['not yet valid', sign({ claims: { nbf: now + 300, exp: now + 900 } })],
    ['without exp', sign({ without: ['exp'] })],
    ['wrong issuer', sign({ claims: { iss: 'evil.test' } })],
    ['wrong audience', sign({ claims: { aud: 'other-registry' } })],
    ['signed with another key', sign({ key: fx.pki.stranger })],
    ['unknown kid', sign({ header: { kid: 'nobody' } })],
    ['alg none', `${reencode({ alg: 'none', typ: 'JWT' })}.${p}.`],
    ['alg none with a signature', `${reencode({ alg: 'none', kid: fx.pki.jwksEc.kid })}.${p}.${s}`],
    [
      'HS256 with the JWKS public key as secret',
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: fx.pki.jwksEc.kid })
        .sign(Buffer.from(publicPem.toString())),
    ],
    [
      'HS256 with a bundle certificate as secret',
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: libtrustKeyId(fx.pki.direct.cert.publicKey) })
        .sign(Buffer.from(certPem)),
    ],
    [
      'payload widened to push',
      `${h}.${reencode({ ...payload, access: [{ type: 'repository', name: 'team/a', actions: ['*'] }] })}.${s}`,
    ],
    [
      'one payload character flipped',
      `${h}.${p.slice(0, 10)}${p[10] === 'A' ? 'B' : 'A'}${p.slice(11)}.${s}`,
    ],
    ['signature cut', `${h}.${p}.${s.slice(0, -4)}`],
    ['not a JWT', 'not-a-jwt'],
    [
      'x5c from a CA outside the bundle',
      sign({
        key: fx.pki.rogueLeaf.key,
        alg: 'ES256',
        header: { x5c: [fx.pki.rogueLeaf.x5c, fx.pki.rogueRoot.x5c] },
      }),
    ],
    [
      'x5c issued by a non-CA',
      sign({
        key: fx.pki.underNonCa.key,
        alg: 'ES256',
        header: { x5c: [fx.pki.underNonCa.x5c, fx.pki.rootLeaf.x5c] },
      }),
    ],
    [
      'x5c out of order',
      sign({
        key: fx.pki.leaf.key,
        alg: 'RS256',
        header: { x5c: [fx.pki.intermediate.x5c, fx.pki.leaf.x5c] },
      }),
    ],
    [
      'x5c of another key',
      sign({ key: fx.pki.stranger, alg: 'ES384', header: { x5c: [fx.pki.rootLeaf.x5c] } }),
    ],
    [
      'x5c garbage',
      sign({ key: fx.pki.rootLeaf.key, alg: 'ES256', header: { x5c: ['bm90IGEgY2VydA=='] } }),
    ],
    ['access claim not a list', sign({ claims: { access: 'everything' } })],
    [
      'access entry without name',
      sign({ claims: { access: [{ type: 'repository', actions: ['*'] }] } }),
    ],
  ];
  for (const [name, token] of cases) {
    await assertRefused(fx.controller.authorize(request(bearer(await token)), pullA), {
      status: 401,
      code: 'UNAUTHORIZED',
      challenge: challenge(pullA, 'invalid_token'),
      detail: [{ Type: 'repository', Name: 'team/a', Action: 'pull' }],
    }).catch((err: unknown) => assert.fail(`${name}: ${String(err)}`));
  }
  // Each was an expected miss (debug), not a fault worth a warning.
  assert.deepEqual(
    fx.lines().filter((l) => l['msg'] === 'token verification failed unexpectedly'),
    [],
  );
});

test('requests without a Bearer token get the challenge without an error', async () => {
  for (const header of [undefined, '', 'Basic YWxpY2U6cHc=', 'Bearer', 'Bearer  ']) {
    await assertRefused(fx.controller.authorize(request(header), pushA), {
      status: 401,
      code: 'UNAUTHORIZED',
      challenge: challenge(pushA),
    });
  }
  await assertRefused(fx.controller.authorize(request(), []), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: challenge([]),
    detail: null,
  });
});

test('a 1 MiB Authorization header is refused without being parsed', async () => {
  const huge = `Bearer ${'a'.repeat(1024 * 1024)}`;
  const before = fx.lines().length;
  await assertRefused(fx.controller.authorize(request(huge), pullA), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: challenge(pullA, 'invalid_token'),
  });
  assert.equal(fx.lines().length, before, 'no verification was attempted');
});

test('certificates are checked against their validity period', async (t) => {
  const rootLeaf = {
    key: fx.pki.rootLeaf.key,
    alg: 'ES256',
    header: { x5c: [fx.pki.rootLeaf.x5c] },
  };
  const day = 24 * 60 * 60 * 1000;
  for (const [name, offset] of [
    ['after the leaf expired', 2 * day],
    ['before the leaf was valid', -day],
  ] as const) {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + offset });
    const token = await sign(rootLeaf);
    await assertRefused(fx.controller.authorize(request(bearer(token)), pullA), {
      status: 401,
      code: 'UNAUTHORIZED',
      challenge: challenge(pullA, 'invalid_token'),
    }).catch((err: unknown) => assert.fail(`${name}: ${String(err)}`));
    t.mock.timers.reset();
  }
});
