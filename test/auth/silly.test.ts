import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SillyAccessController } from '../../src/auth/silly.js';
import type { Access } from '../../src/auth/types.js';
import { assertRefused, request } from './helpers.js';

const silly = new SillyAccessController({ realm: 'https://auth.test/token', service: 'berth' });
const push: Access[] = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }];

test('silly lets in any request that carries an Authorization header, whatever its value', async () => {
  for (const header of ['Bearer anything', 'Basic Zm9vOmJhcg==', 'nonsense']) {
    assert.deepEqual(await silly.authorize(request(header), push), { subject: '' }, header);
  }
});

test('silly answers a request without credentials with a Bearer challenge and its scope', async () => {
  await assertRefused(silly.authorize(request(), push), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge:
      'Bearer realm="https://auth.test/token",service="berth",scope="repository:team/app:pull,push"',
    detail: [
      { Type: 'repository', Name: 'team/app', Action: 'pull' },
      { Type: 'repository', Name: 'team/app', Action: 'push' },
    ],
  });
});

test('silly treats an empty Authorization header as absent, as the reference does', async () => {
  await assertRefused(silly.authorize(request(''), []), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: 'Bearer realm="https://auth.test/token",service="berth"',
    detail: null,
  });
});

test('silly has nothing to release on close', async () => {
  await silly.close();
  assert.equal(silly.name, 'silly');
});
