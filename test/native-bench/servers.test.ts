/**
 * The benchmark starts Berth with the Node options every documented way of starting it
 * passes: `npm start`, the executable `bin/berth.js` (its `env -S` line) and the Dockerfile.
 * A flag added to one and not the others would make the benchmark measure another server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { berthNodeFlags } from '../../native-bench/lib/servers.js';

const run = promisify(execFile);
const repo = new URL('../../../', import.meta.url);

/** The Node options of a command line that runs `bin/berth.js` (the words before it). */
function flagsBefore(words: string[]): string[] {
  const at = words.findIndex((w) => w === 'bin/berth.js');
  assert.ok(at > 0, `no bin/berth.js in ${words.join(' ')}`);
  return words.slice(0, at).filter((w) => w.startsWith('--'));
}

test('npm start, bin/berth.js and the Dockerfile pass the Node options the benchmark uses', async () => {
  assert.ok(berthNodeFlags.length > 0);
  const pkg = JSON.parse(await readFile(new URL('package.json', repo), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const start = pkg.scripts.start ?? '';
  const startCommand = start.split('&&').at(-1)?.trim().split(/\s+/) ?? [];
  assert.deepEqual(flagsBefore(startCommand), berthNodeFlags);

  const [shebang] = (await readFile(new URL('bin/berth.js', repo), 'utf8')).split('\n');
  assert.deepEqual(
    shebang?.split(/\s+/).filter((w) => w.startsWith('--')),
    berthNodeFlags,
  );

  const docker = await readFile(new URL('Dockerfile', repo), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(docker)?.[1];
  assert.ok(entry !== undefined, 'the Dockerfile has an exec-form ENTRYPOINT');
  assert.deepEqual(flagsBefore(JSON.parse(entry) as string[]), berthNodeFlags);
});

test('bin/berth.js runs as a program with its options on the first line', async () => {
  const { stdout } = await run(fileURLToPath(new URL('bin/berth.js', repo)), ['--help']);
  assert.match(stdout, /^Usage: berth <command>/);
});
