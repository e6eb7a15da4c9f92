import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/berth.js';

const run = promisify(execFile);
const berth = join(repoRoot, 'bin', 'berth.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [berth, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('berth --help prints the commands', async () => {
  const { code, stdout } = await cli(['--help']);
  assert.equal(code, 0);
  assert.match(stdout, /serve \[config\.yml\]/);
  assert.match(stdout, /version/);
});

test('berth version prints the package version', async () => {
  const { code, stdout } = await cli(['version']);
  assert.equal(code, 0);
  assert.match(stdout, /^berth \d+\.\d+\.\d+\n$/);
});

test('an unknown command exits 2 with the usage', async () => {
  const { code, stderr } = await cli(['launch']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown command launch/);
});

test('serve with an invalid configuration exits 2 naming every bad key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  try {
    const file = join(dir, 'config.yml');
    await writeFile(
      file,
      'version: 0.1\nstorage:\n  inmemory: {}\nhttp:\n  adress: x\n  net: udp\n',
    );
    const { code, stderr } = await cli(['serve', file]);
    assert.equal(code, 2);
    assert.match(stderr, /http\.adress/);
    assert.match(stderr, /http\.net/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve on an address in use exits 1 at once, with or without the gateway', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  try {
    for (const gateway of [true, false]) {
      const file = join(dir, 'config.yml');
      await writeFile(
        file,
        `version: 0.1\nstorage:\n  inmemory: {}\nhttp:\n  addr: 127.0.0.1:${port}\n` +
          `  secret: s\n  gateway: ${gateway}\n`,
      );
      // Before the fix the process stayed alive, listening on nothing (the cli times out).
      const { code, stderr } = await cli(['serve', file]);
      assert.equal(code, 1, `gateway ${gateway}: ${stderr}`);
      assert.match(stderr, /cannot start/);
    }
  } finally {
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
