import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { bcryptHash } from '../../src/auth/bcrypt.js';
import {
  HtpasswdAccessController,
  parseBasicAuthorization,
  parseHtpasswd,
} from '../../src/auth/htpasswd.js';
import type { Access } from '../../src/auth/types.js';
import { createLogger } from '../../src/log/logger.js';
import { RegistryError } from '../../src/errors/registry-error.js';
import { assertRefused, basic, captureLog, request } from './helpers.js';

const REALM = 'Berth Registry';
const CHALLENGE = 'Basic realm="Berth Registry"';
const pull: Access[] = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];

let dir = '';
/** Cost 4 keeps the tests fast; the timing test makes its own file at cost 10. */
const hashes: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-htpasswd-'));
  for (const [user, password] of [
    ['alice', 'wonderland'],
    ['colon', 'pa:ss:word'],
    ['jürgen', 'straße'],
    ['用户', '密码'],
  ] as const) {
    hashes[user] = await bcryptHash(password, 4);
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function htpasswdFile(text: string): Promise<string> {
  const path = join(dir, `htpasswd-${++fileCount}`);
  await writeFile(path, text);
  return path;
}

function entries(...users: string[]): string {
  return users.map((user) => `${user}:${hashes[user] ?? ''}\n`).join('');
}

async function open(path: string, options = {}) {
  const capture = captureLog();
  const controller = await HtpasswdAccessController.open(
    { realm: REALM, path },
    capture.log,
    options,
  );
  return { controller, ...capture };
}

test('Basic headers are parsed strictly and anything malformed is refused', () => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const cases: [string, { user: string; password: string } | undefined][] = [
    [`Basic ${b64('alice:wonderland')}`, { user: 'alice', password: 'wonderland' }],
    [`basic   ${b64('alice:wonderland')}  `, { user: 'alice', password: 'wonderland' }],
    [`Basic ${b64('colon:pa:ss:word')}`, { user: 'colon', password: 'pa:ss:word' }],
    [`Basic ${b64('alice:')}`, { user: 'alice', password: '' }],
    [`Basic ${b64('用户:密码')}`, { user: '用户', password: '密码' }],
    [`Basic ${b64('ab:c').replace(/=+$/, '')}`, { user: 'ab', password: 'c' }],
    [`Basic ${b64('nocolon')}`, undefined],
    [`Basic ${b64(':password')}`, undefined],
    ['Basic !!!!', undefined],
    ['Basic a', undefined],
    ['Basic ', undefined],
    ['Bearer abc', undefined],
    [`Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x61]).toString('base64')}`, undefined],
    [`Basic ${'A'.repeat(9000)}`, undefined],
  ];
  for (const [header, expected] of cases) {
    const parsed = parseBasicAuthorization(header);
    const actual =
      parsed === undefined
        ? undefined
        : { user: parsed.user, password: parsed.password.toString('utf8') };
    assert.deepEqual(actual, expected, header.slice(0, 60));
  }
});

test('htpasswd files keep bcrypt entries, skip comments and ignore other hash types', () => {
  const bcrypt = hashes['alice'] ?? '';
  const parsed = parseHtpasswd(
    [
      '# users',
      '',
      `  alice:${bcrypt}  `,
      `bob:${bcrypt.replace('$2b$', '$2y$')}\r`,
      'md5:$apr1$abcdefgh$0123456789abcdefghijkl',
      'sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'plain:secret',
      `alice:${bcrypt.replace('$2b$', '$2a$')}`,
    ].join('\n'),
  );
  assert.deepEqual([...parsed.users.keys()], ['alice', 'bob']);
  assert.ok(parsed.users.get('alice')?.startsWith('$2a$'), 'a later line for a user wins');
  assert.ok(parsed.users.get('bob')?.startsWith('$2b$'), '$2y$ is read as $2b$');
  assert.deepEqual(parsed.ignored, [
    { line: 5, user: 'md5' },
    { line: 6, user: 'sha' },
    { line: 7, user: 'plain' },
  ]);
  assert.throws(() => parseHtpasswd('alice:x\nno colon here\n'), /line 2/);
});

test('valid credentials are granted and the subject is the user', async () => {
  const { controller } = await open(
    await htpasswdFile(entries('alice', 'colon', 'jürgen', '用户')),
  );
  const cases: [string, string][] = [
    ['alice', 'wonderland'],
    ['colon', 'pa:ss:word'],
    ['jürgen', 'straße'],
    ['用户', '密码'],
  ];
  for (const [user, password] of cases) {
    assert.deepEqual(await controller.authorize(request(basic(user, password)), pull), {
      subject: user,
    });
  }
  await controller.close();
});

test('missing, malformed and wrong credentials get a 401 with the Basic challenge', async () => {
  const { controller } = await open(await htpasswdFile(entries('alice')));
  const detail = [{ Type: 'repository', Name: 'team/app', Action: 'pull' }];
  const cases: [string, string | undefined][] = [
    ['no header', undefined],
    ['wrong password', basic('alice', 'wrong')],
    ['unknown user', basic('mallory', 'wonderland')],
    ['password with the case changed', basic('alice', 'Wonderland')],
    ['password with a NUL appended', basic('alice', 'wonderland\u0000x')],
    ['bad base64', 'Basic %%%%'],
    ['missing colon', `Basic ${Buffer.from('alice').toString('base64')}`],
    ['empty user', basic('', 'wonderland')],
    ['Bearer scheme', 'Bearer abc.def.ghi'],
  ];
  for (const [name, header] of cases) {
    await assertRefused(controller.authorize(request(header), pull), {
      status: 401,
      code: 'UNAUTHORIZED',
      challenge: CHALLENGE,
      detail,
    }).catch((err: unknown) => assert.fail(`${name}: ${String(err)}`));
  }
  await assertRefused(controller.authorize(request(), []), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: CHALLENGE,
    detail: null,
  });
});

test('$2y$ hashes, as htpasswd -B writes them, are accepted', async () => {
  const hash = (hashes['alice'] ?? '').replace('$2b$', '$2y$');
  const { controller } = await open(await htpasswdFile(`alice:${hash}\n`));
  assert.deepEqual(await controller.authorize(request(basic('alice', 'wonderland')), pull), {
    subject: 'alice',
  });
});

test('non-bcrypt entries are ignored with a warning and never authenticate', async () => {
  const path = await htpasswdFile(`${entries('alice')}plain:secret\nmd5:$apr1$x$y\n`);
  const { controller, lines } = await open(path);
  await assertRefused(controller.authorize(request(basic('plain', 'secret')), pull), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: CHALLENGE,
  });
  const warnings = lines().filter((l) => l['msg'] === 'htpasswd entry ignored, not a bcrypt hash');
  assert.deepEqual(
    warnings.map((l) => [l['user'], l['line']]),
    [
      ['plain', 2],
      ['md5', 3],
    ],
  );
});

test('an htpasswd file with an invalid line stops the controller from starting', async () => {
  const path = await htpasswdFile(`${entries('alice')}garbage\n`);
  await assert.rejects(open(path), /invalid htpasswd entry at line 2/);
});

test('a missing file is created with admin and a password logged exactly once', async () => {
  const path = join(dir, 'created', 'nested', 'htpasswd');
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString('utf8');
      done();
    },
  });
  // The real process logger, so that its redaction rules are part of the test.
  const log = createLogger(
    { level: 'info', formatter: 'json', fields: {}, accesslog: { disabled: false } },
    sink,
  );
  const first = await HtpasswdAccessController.open({ realm: REALM, path }, log);

  const text = await readFile(path, 'utf8');
  assert.match(text, /^admin:\$2b\$10\$[./A-Za-z0-9]{53}\n$/);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const logged = output
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const created = logged.filter((l) => typeof l['generatedPassword'] === 'string');
  assert.equal(created.length, 1);
  assert.equal(created[0]?.['level'], 40);
  const password = String(created[0]?.['generatedPassword']);
  assert.ok(password.length >= 32);
  assert.equal(output.split(password).length - 1, 1, 'the password appears once in the log');
  assert.deepEqual(await first.authorize(request(basic('admin', password)), pull), {
    subject: 'admin',
  });

  // Opening the file again, as a restart would, neither rewrites it nor logs a password.
  await HtpasswdAccessController.open({ realm: REALM, path }, log);
  assert.equal(await readFile(path, 'utf8'), text);
  assert.equal(output.split(password).length - 1, 1);
});

test('a changed file is re-read: new users work and removed passwords stop working', async () => {
  const path = await htpasswdFile(entries('alice'));
  const { controller, lines } = await open(path, { recheckIntervalMs: 0 });
  assert.deepEqual(await controller.authorize(request(basic('alice', 'wonderland')), pull), {
    subject: 'alice',
  });

  // Rewritten in place: alice's success was cached, and the change must empty that cache.
  // (Another size, since two writes within a clock tick can share an mtime.)
  await writeFile(path, entries('colon', '用户'));
  await assertRefused(controller.authorize(request(basic('alice', 'wonderland')), pull), {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: CHALLENGE,
  });
  assert.deepEqual(await controller.authorize(request(basic('colon', 'pa:ss:word')), pull), {
    subject: 'colon',
  });

  // Replaced by a rename, as editors and htpasswd itself do.
  await writeFile(`${path}.tmp`, entries('alice', 'jürgen'));
  await rename(`${path}.tmp`, path);
  assert.deepEqual(await controller.authorize(request(basic('jürgen', 'straße')), pull), {
    subject: 'jürgen',
  });
  assert.equal(lines().filter((l) => l['msg'] === 'htpasswd file reloaded').length, 2);
});

test('a file that breaks or disappears after start refuses everyone until fixed', async () => {
  const path = await htpasswdFile(entries('alice'));
  const { controller, lines } = await open(path, { recheckIntervalMs: 0, cacheTtlMs: 0 });
  const alice = () => controller.authorize(request(basic('alice', 'wonderland')), pull);
  assert.deepEqual(await alice(), { subject: 'alice' });
  await writeFile(path, 'this line has no colon\n');
  for (let i = 0; i < 3; i++) {
    await assert.rejects(alice(), (err) => err instanceof RegistryError && err.status === 401);
  }
  await rm(path);
  await assert.rejects(alice(), (err) => err instanceof RegistryError && err.status === 401);
  const errors = lines().filter((l) => l['level'] === 50);
  assert.equal(errors.length, 2, 'one report for the bad content, one for the removal');
  await writeFile(path, entries('alice'));
  assert.deepEqual(await alice(), { subject: 'alice' }, 'a fixed file lets users back in');
});

test('concurrent requests with the same credentials all succeed', async () => {
  const { controller } = await open(await htpasswdFile(entries('alice')));
  const grants = await Promise.all(
    Array.from({ length: 8 }, () =>
      controller.authorize(request(basic('alice', 'wonderland')), pull),
    ),
  );
  assert.ok(grants.every((g) => g.subject === 'alice'));
});

test('an unknown user takes about as long as a wrong password', async () => {
  const path = await htpasswdFile(`alice:${await bcryptHash('wonderland', 10)}\n`);
  const { controller } = await open(path);
  const time = async (header: string) => {
    const start = process.hrtime.bigint();
    await controller.authorize(request(header), pull).catch(() => undefined);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const wrong: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 5; i++) {
    wrong.push(await time(basic('alice', `wrong-${i}`)));
    unknown.push(await time(basic(`nobody-${i}`, 'wonderland')));
  }
  const ratio = median(unknown) / median(wrong);
  assert.ok(ratio > 0.5 && ratio < 2, `unknown/wrong time ratio ${ratio.toFixed(2)}`);
});
