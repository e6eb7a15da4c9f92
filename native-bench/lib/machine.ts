/** A description of the machine and the software versions, stored with every result. */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, version } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './servers.js';

/** What the results JSON says about where they were measured. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  goRegistry: string;
  wrk: string;
  nginx: string;
  berthCommit: string;
  /** Paths under src/ changed and not committed when the run started. */
  berthUncommitted: string[];
  disk: {
    path: string;
    device: string;
    fsType: string;
    description: string;
    /** 512 MiB of random data written and fdatasync'ed, MB/s (10^6 bytes). */
    writeMBps: number;
  };
  /** SHA-256 of 256 MiB on one core, MB/s. */
  sha256MBps: number;
  loadAverageAtStart: number[];
}

function run(command: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (err) {
    // `wrk -v` exits 1 after printing its version; the output is on the error.
    const e = err as { stdout?: unknown; stderr?: unknown; message?: unknown };
    for (const text of [e.stdout, e.stderr]) {
      if (typeof text === 'string' && text.trim() !== '') return text.trim();
    }
    return String(e.message);
  }
}

function versionOf(command: string, args: string[]): string {
  const text = run('sh', ['-c', `${command} ${args.join(' ')} 2>&1`]);
  return text.split('\n')[0] ?? '';
}

/** Measures sequential write speed on the disk holding `dir`, with fdatasync at the end. */
export function diskWriteMBps(dir: string): number {
  const file = join(dir, 'disk-write-test');
  const block = randomBytes(8 << 20);
  const blocks = 64;
  const fd = openSync(file, 'w');
  const t0 = performance.now();
  try {
    for (let i = 0; i < blocks; i++) writeSync(fd, block);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - t0) / 1000;
  unlinkSync(file);
  return (blocks * block.length) / seconds / 1e6;
}

function sha256MBps(): number {
  const data = randomBytes(256 << 20);
  const t0 = performance.now();
  createHash('sha256').update(data).digest();
  return data.length / ((performance.now() - t0) / 1000) / 1e6;
}

/** What costs nothing to learn about this machine: CPU, memory, kernel, Node and the commit. */
export type HostInfo = Pick<
  MachineInfo,
  | 'cpuModel'
  | 'cores'
  | 'memoryGiB'
  | 'kernel'
  | 'node'
  | 'berthCommit'
  | 'berthUncommitted'
  | 'loadAverageAtStart'
>;

/** Describes this machine without measuring anything (the micro benchmarks use this). */
export function describeHost(): HostInfo {
  const status = run('git', ['status', '--porcelain', '--', 'src'], repoRoot);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${release()} ${version()}`,
    node: process.version,
    berthCommit: run('git', ['rev-parse', 'HEAD'], repoRoot),
    berthUncommitted: status === '' ? [] : status.split('\n').map((l) => l.trim()),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Describes this machine; `dir` is the folder on the disk the servers store into. */
export function describeMachine(dir: string): MachineInfo {
  const mount = run('findmnt', ['-no', 'SOURCE,FSTYPE', '-T', dir]).split(/\s+/);
  const device = mount[0] ?? '';
  const devName = device.replace(/^\/dev\//, '');
  const lsblk = run('lsblk', ['-dno', 'NAME,SIZE,ROTA,MODEL', device]);
  const host = describeHost();
  return {
    ...host,
    goRegistry: versionOf('/usr/bin/docker-registry', ['--version']),
    wrk: versionOf('wrk', ['-v']),
    nginx: versionOf('nginx', ['-v']),
    disk: {
      path: dir,
      device: devName,
      fsType: mount[1] ?? '',
      description: lsblk,
      writeMBps: Math.round(diskWriteMBps(dir)),
    },
    sha256MBps: Math.round(sha256MBps()),
    // Read again after the disk and hash measurements, which load the machine themselves.
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
