/**
 * The micro benchmark runs end to end in its quick mode on a few cheap benchmarks and writes
 * the figures it promises. Timings are not checked: only what holds on any machine.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Figure } from '../../native-bench/micro/report.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../native-bench/micro/run.js', import.meta.url));

interface Saved {
  quick: boolean;
  machine: { cpuModel: string; cores: number; node: string };
  figures: Figure[];
  table: string;
}

test('the quick micro bench writes every round, and transfers and manifest counts hold', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-micro-test-'));
  try {
    const file = join(dir, 'micro.json');
    const only = String.raw`^trip\.|^manifest\.check\.(oci-5|oci-100|index-10)$`;
    const { stdout } = await run(process.execPath, [
      script,
      '--quick',
      '--only',
      only,
      '--json',
      file,
    ]);
    const saved = JSON.parse(await readFile(file, 'utf8')) as Saved;

    assert.equal(saved.quick, true);
    assert.equal(saved.machine.node, process.version);
    assert.ok(saved.machine.cores >= 1);
    assert.ok(stdout.includes(saved.machine.cpuModel));
    assert.ok(stdout.includes('### Manifest verification'));
    const byId = new Map(saved.figures.map((f) => [f.id, f]));
    const ids = [
      ...['trip.transfer', 'trip.clone'].flatMap((id) => [id, `${id}.main-cpu`]),
      ...['oci-5', 'oci-100', 'index-10'].flatMap((s) => [
        `manifest.check.${s}`,
        `manifest.check.${s}.rate`,
      ]),
    ];
    assert.deepEqual([...byId.keys()].sort(), ids.sort());
    for (const f of saved.figures) {
      // Main-thread CPU comes from /proc schedstat; a kernel without it leaves no rounds.
      if (f.id.endsWith('.main-cpu') && f.rounds.length === 0) continue;
      assert.equal(f.rounds.length, 5, f.id);
      for (const v of [...f.rounds, f.median, f.min, f.max]) {
        assert.ok(Number.isFinite(v) && v > 0, `${f.id}: ${v}`);
      }
      assert.ok(f.min <= f.median && f.median <= f.max, f.id);
    }

    // A transferred buffer is detached from the sender at once; a cloned one is not.
    assert.equal(byId.get('trip.transfer')?.facts?.['sourceByteLengthAfterSend'], 0);
    assert.equal(byId.get('trip.clone')?.facts?.['sourceByteLengthAfterSend'], 1 << 20);
    assert.equal(byId.get('trip.transfer')?.facts?.['returnedByteLength'], 1 << 20);
    // Blobs are the layers plus the config; an index lists its children.
    assert.equal(byId.get('manifest.check.oci-5')?.facts?.['blobs'], 6);
    assert.equal(byId.get('manifest.check.oci-100')?.facts?.['blobs'], 101);
    assert.equal(byId.get('manifest.check.index-10')?.facts?.['children'], 10);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
