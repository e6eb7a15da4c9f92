/** `berth token-server <config.yml>` as a process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/berth.js';
import { freePort } from '../helpers/ports.js';
import { spawnTokenServer, prepareTokenServer } from '../helpers/token-server.js';

const execFileAsync = promisify(execFile);
const berth = join(repoRoot, 'bin', 'berth.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [berth, ...args], {
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('berth token-server', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tscli-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('is listed by --help', async () => {
    const { code, stdout } = await cli(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /token-server <config\.yml>/);
  });

  test('without a configuration file exits 2', async () => {
    const { code, stderr } = await cli(['token-server']);
    assert.equal(code, 2);
    assert.match(stderr, /token-server takes one configuration file/);
  });

  test('with an invalid configuration exits 2 naming every bad key', async () => {
    const file = join(dir, 'bad.yml');
    await writeFile(file, 'addr: 127.0.0.1:0\nissuer: i\nservice: s\nkey: k\nacl: a\nsecret: x\n');
    const { code, stderr } = await cli(['token-server', file]);
    assert.equal(code, 2);
    assert.match(stderr, /secret: unknown key/);
  });

  test('with a missing key file exits 2 naming it', async () => {
    const file = join(dir, 'nokey.yml');
    await writeFile(file, 'addr: 127.0.0.1:0\nissuer: i\nservice: s\nkey: nope.pem\nacl: a\n');
    const { code, stderr } = await cli(['token-server', file]);
    assert.equal(code, 2);
    assert.match(stderr, /key: cannot read .*nope\.pem/);
  });

  test('serves tokens until SIGTERM and then exits', async () => {
    const port = await freePort();
    const files = await prepareTokenServer(dir, {
      port,
      issuer: 'cli-issuer',
      service: 'cli-service',
      users: { ann: 'pw' },
      acl: 'rules: []\n',
    });
    const server = await spawnTokenServer(files.config, port);
    try {
      const auth = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
      const res = await fetch(`${server.realm}?service=cli-service`, {
        headers: { authorization: auth },
      });
      assert.equal(res.status, 200);
      assert.match(server.logs(), /"msg":"listening"/);
    } finally {
      await server.stop();
    }
    assert.match(server.logs(), /"msg":"shutting down"/);
  });
});
