/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, e.g. from `run.js --cpu-prof DIR`): the
 * functions with the most self time, per profile file (one per thread).
 *
 * Usage: node dist/native-bench/profile-top.js <file.cpuprofile | folder> [--top N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const file = url.startsWith('file://') ? relative(process.cwd(), url.slice(7)) : url;
  return `${name} ${file}:${lineNumber + 1}`;
}

/** Self time in milliseconds by function, largest first, and the profile's length. */
export function selfTimes(profile: Profile): { totalMs: number; rows: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample (V8 stores deltas before each).
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] ?? -1);
    const us = deltas[i + 1] ?? 0;
    if (node === undefined) continue;
    const key = frameName(node);
    self.set(key, (self.get(key) ?? 0) + us / 1000);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: (profile.endTime - profile.startTime) / 1000, rows };
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '25' } },
    allowPositionals: true,
  });
  const top = Number(values.top);
  const files = positionals.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(p, f))
      : [p],
  );
  if (files.length === 0) {
    process.stderr.write('usage: profile-top.js <file.cpuprofile | folder> [--top N]\n');
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const { totalMs, rows } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const sampled = rows.reduce((n, [, ms]) => n + ms, 0);
    process.stdout.write(`\n${basename(file)}: ${totalMs.toFixed(0)} ms profiled\n`);
    process.stdout.write('   self ms   share  function\n');
    for (const [name, ms] of rows.slice(0, top)) {
      const share = sampled > 0 ? (100 * ms) / sampled : 0;
      process.stdout.write(
        `${ms.toFixed(1).padStart(10)} ${share.toFixed(1).padStart(6)}%  ${name}\n`,
      );
    }
  }
}

main();
