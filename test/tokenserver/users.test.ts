import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { parseHtpasswd, UserStore } from '../../src/tokenserver/users.js';

// bcrypt of "secret" at cost 4; the $2y$ spelling is what Apache's `htpasswd -B` writes.
const HASH = '$2b$04$Lj4W.l3bY27RBIQmcUeyYO43UTxLMb05xJDYpgYwliRCpDYZYfDG.';

describe('parseHtpasswd', () => {
  test('reads bcrypt entries and rewrites $2y$ to the $2b$ the bcrypt package knows', () => {
    const { users, skipped } = parseHtpasswd(
      `alice:${HASH}\nbob:${HASH.replace('$2b$', '$2y$')}\n`,
    );
    assert.deepEqual([...users.keys()], ['alice', 'bob']);
    assert.equal(users.get('bob'), HASH);
    assert.deepEqual(skipped, []);
  });

  test('skips and reports MD5, SHA-1 and malformed lines, ignores comments and blanks', () => {
    const text = [
      '# users',
      '',
      'md5:$apr1$abcdefgh$0123456789abcdefghijkl',
      'sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'nocolon',
      `:${HASH}`,
      `ok:${HASH}`,
    ].join('\n');
    const { users, skipped } = parseHtpasswd(text);
    assert.deepEqual([...users.keys()], ['ok']);
    assert.deepEqual(skipped, [3, 4, 5, 6]);
  });
});

describe('UserStore', () => {
  test('verifies passwords, refuses unknown users, and fingerprints entries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-users-'));
    try {
      const file = join(dir, 'htpasswd');
      await writeFile(file, `alice:${HASH}\n`);
      const store = await UserStore.open(file, pino({ enabled: false }));
      assert.equal(await store.verify('alice', 'secret'), true);
      assert.equal(await store.verify('alice', 'Secret'), false);
      assert.equal(await store.verify('nobody', 'secret'), false);
      assert.match((await store.fingerprint('alice')) ?? '', /^[A-Za-z0-9_-]{16}$/);
      assert.equal(await store.fingerprint('nobody'), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
