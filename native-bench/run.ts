/**
 * native-bench: Berth against the Go reference registry (CNCF distribution 2.8, Debian
 * `docker-registry`) on this machine, side by side, in one run. See README.md beside this
 * file for the scenarios, the figures and the options.
 *
 * Run after `npx tsc -p tsconfig.json`: `node dist/native-bench/run.js [options]`.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { peakResetWorks, runCell, type CellResult } from './lib/cells.js';
import type { BenchContext, Group } from './lib/context.js';
import { describeMachine } from './lib/machine.js';
import { evaluateTargets, formatFigure, renderTables, renderTargets } from './lib/report.js';
import {
  repoRoot,
  startBerth,
  startGo,
  startNginx,
  stopAll,
  type Server,
  type ServerKey,
} from './lib/servers.js';
import { ceilingGroup } from './scenarios/ceiling.js';
import { manifestGroup } from './scenarios/manifest.js';
import { mixedGroup } from './scenarios/mixed.js';
import { readGroup } from './scenarios/read.js';
import { uploadGroup } from './scenarios/upload.js';

const USAGE = `usage: node dist/native-bench/run.js [options]

  --quick             1 s per cell and server instead of 3 s (about a third of the time)
  --duration S        seconds of load per cell and server (default 3; --quick: 1)
  --repeat N          measure each cell N times per server, alternating, report medians
  --gateway-off       also run Berth with http.gateway: false (about 1.5x the run time)
  --groups LIST       comma-separated groups: ceiling,upload,read,manifest,mixed (default all)
  --only REGEX        only the cells whose id matches (ids are listed in README.md)
  --cpu-prof DIR      run Berth under node --cpu-prof, profiles written to DIR at its exit
  --tmp DIR           where the servers' storage goes (default ${tmpdir()}); one disk for all
  --update-baseline   also copy the results to native-bench/baseline.json
  --keep              keep the storage folders after the run
  --render FILE       print the tables of a results JSON again (nothing is run)
`;

const GROUPS: Group[] = [ceilingGroup, uploadGroup, readGroup, manifestGroup, mixedGroup];
const TOOLS: [string, string][] = [
  ['/usr/bin/docker-registry', 'docker-registry'],
  ['/usr/bin/wrk', 'wrk'],
  ['/usr/sbin/nginx', 'nginx-light'],
];

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'gateway-off': { type: 'boolean', default: false },
      groups: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      tmp: { type: 'string', default: tmpdir() },
      'update-baseline': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const durationS = Number(values.duration ?? (values.quick ? 1 : 3));
  const repeat = Number(values.repeat);
  if (!Number.isInteger(durationS) || durationS < 1)
    throw new Error('--duration: whole seconds >= 1');
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat: an integer >= 1');
  const groups = values.groups?.split(',').map((g) => g.trim()) ?? GROUPS.map((g) => g.name);
  for (const g of groups) {
    if (!GROUPS.some((x) => x.name === g)) throw new Error(`--groups: no group ${g}`);
  }
  return {
    help: values.help,
    quick: values.quick,
    durationS,
    repeat,
    gatewayOff: values['gateway-off'],
    groups,
    only: values.only === undefined ? null : new RegExp(values.only),
    cpuProf: values['cpu-prof'] ?? null,
    tmp: values.tmp,
    updateBaseline: values['update-baseline'],
    keep: values.keep,
    render: values.render ?? null,
  };
}

type Options = ReturnType<typeof options>;

async function startRegistries(dir: string, opts: Options): Promise<Server[]> {
  const nodeArgs = opts.cpuProf === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`];
  const servers = [
    await startGo(join(dir, 'go')),
    await startBerth(join(dir, 'berth'), { gateway: true, nodeArgs }),
  ];
  if (opts.gatewayOff) {
    servers.push(await startBerth(join(dir, 'berth-nogw'), { gateway: false, nodeArgs }));
  }
  return servers;
}

function clock(start: number): string {
  const s = Math.round((performance.now() - start) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function progress(start: number, cell: CellResult): void {
  const key = cell.show[0];
  const parts = Object.entries(cell.figures).map(
    ([server, f]) => `${server} ${key === undefined ? '' : formatFigure(key, f[key])}`,
  );
  const label = key === undefined ? '' : ` ${key}:`;
  process.stderr.write(`[${clock(start)}] ${cell.id}${label} ${parts.join(', ')}\n`);
}

/** The tables of a results file, rendered by this version of the report. */
async function renderFile(file: string): Promise<string> {
  const saved = JSON.parse(await readFile(file, 'utf8')) as {
    cells: CellResult[];
    machine: { disk: { writeMBps: number } };
    options?: { repeat?: number };
  };
  const keys: ServerKey[] = saved.cells.some((c) => c.figures.berthNoGw !== undefined)
    ? ['go', 'berth', 'berthNoGw']
    : ['go', 'berth'];
  const targets = keys
    .filter((k) => k !== 'go')
    .flatMap((k) => evaluateTargets(saved.cells, k, saved.machine.disk.writeMBps));
  return `${renderTables(saved.cells, keys)}\n${renderTargets(targets, saved.options?.repeat ?? 1)}`;
}

async function main(): Promise<number> {
  const opts = options();
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.render !== null) {
    process.stdout.write(await renderFile(opts.render));
    return 0;
  }
  const missing = TOOLS.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  if (missing.length > 0) {
    process.stderr.write(
      `missing tools; install them with: apt-get install -y ${missing.join(' ')}\n`,
    );
    return 2;
  }
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'))) {
    process.stderr.write('Berth is not built: run npx tsc -p tsconfig.json first\n');
    return 2;
  }

  const start = performance.now();
  const startedAt = new Date();
  const base = await mkdtemp(join(opts.tmp, 'berth-native-bench-'));
  const stopEverything = async (): Promise<void> => {
    await stopAll();
    if (!opts.keep) await rm(base, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the servers\n`);
      void stopEverything().finally(() => process.exit(130));
    });
  }

  process.stderr.write('measuring the machine (disk write, sha256)...\n');
  const machine = describeMachine(base);
  const nginx = await startNginx(join(base, 'nginx'), base);
  const cells: CellResult[] = [];
  const keys: ServerKey[] = opts.gatewayOff ? ['go', 'berth', 'berthNoGw'] : ['go', 'berth'];
  const configs: Partial<Record<ServerKey, string>> = {};
  let turn = 0;
  try {
    for (const group of GROUPS.filter((g) => opts.groups.includes(g.name))) {
      const dir = join(base, group.name);
      await mkdir(dir, { recursive: true });
      const servers = group.name === 'ceiling' ? [] : await startRegistries(dir, opts);
      for (const s of servers) configs[s.key as ServerKey] ??= s.configFile;
      const ctx: BenchContext = {
        servers,
        nginx,
        nginxRoot: base,
        durationS: opts.durationS,
        workDir: dir,
      };
      try {
        process.stderr.write(`[${clock(start)}] group ${group.name}: setting up\n`);
        const specs = (await group.cells(ctx)).filter(
          (s) => opts.only === null || opts.only.test(s.id),
        );
        for (const spec of specs) {
          const cell = await runCell(spec, servers, opts.repeat, turn++);
          cells.push(cell);
          progress(start, cell);
        }
      } finally {
        for (const s of servers) await s.stop();
        if (!opts.keep) await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await nginx.stop();
    if (!opts.keep) await rm(base, { recursive: true, force: true });
  }

  const runSeconds = Math.round((performance.now() - start) / 1000);
  const targets = keys
    .filter((k) => k !== 'go')
    .flatMap((k) => evaluateTargets(cells, k, machine.disk.writeMBps));
  const table = `${renderTables(cells, keys)}\n${renderTargets(targets, opts.repeat)}`;
  const rssNote = peakResetWorks
    ? 'peak RSS is per cell: VmHWM reset (clear_refs 5) before each measurement; registries restarted with empty storage for each group'
    : 'peak RSS is the peak so far (VmHWM could not be reset); registries restarted for each group';
  const results = {
    tool: 'berth native-bench',
    format: 1,
    startedAt: startedAt.toISOString(),
    runSeconds,
    options: { ...opts, only: opts.only?.source ?? null },
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    notes: [
      'ratios are Berth / Go; for latency, CPU and RSS lower is better',
      'MB/s is 10^6 bytes per second; latencies in milliseconds; CPU in seconds (per op) or seconds per GiB',
      'server CPU: utime+stime of the whole process (all threads) from /proc/<pid>/stat around each measurement',
      rssNote,
    ],
    servers: configs,
    cells,
    targets,
    table,
  };
  const stamp = startedAt.toISOString().slice(0, 19).replace(/:/g, '-');
  const resultsDir = join(repoRoot, 'native-bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${stamp}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  if (opts.updateBaseline) await copyFile(file, join(repoRoot, 'native-bench', 'baseline.json'));

  process.stdout.write(
    `## native-bench ${startedAt.toISOString()} (${machine.cpuModel}, ${machine.cores} cores)\n\n`,
  );
  process.stdout.write(`${table}\n`);
  process.stdout.write(
    `results: ${file}${opts.updateBaseline ? ' (and native-bench/baseline.json)' : ''}\n`,
  );
  process.stdout.write(`run time: ${Math.floor(runSeconds / 60)} min ${runSeconds % 60} s\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
