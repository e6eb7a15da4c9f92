/**
 * Micro benchmarks of Berth's hot paths: hashing on the main thread and through the worker
 * pool, copying and moving upload bytes, and manifest verification. See the "Micro
 * benchmarks" section of native-bench/README.md for what each measures.
 *
 * Run after `npx tsc -p tsconfig.json`: `node dist/native-bench/micro/run.js [options]`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeHost } from '../lib/machine.js';
import { repoRoot } from '../lib/servers.js';
import { hashBenches } from './hash.js';
import { manifestBenches } from './manifest.js';
import type { Settings } from './measure.js';
import { renderFigures, type Bench, type Figure } from './report.js';
import { transferBenches } from './transfer.js';

const USAGE = `usage: node dist/native-bench/micro/run.js [options]

  --quick         rounds of 0.1 s instead of 0.4 s (about a quarter of the time)
  --only REGEX    only the benchmarks whose id matches (ids are listed in README.md)
  --json FILE     where the results go (default native-bench/results/micro-<start time>.json)
  --render FILE   print the tables of a results JSON again (nothing is run)
  --list          print the benchmark ids and exit
`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
      render: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const settings: Settings = values.quick
    ? { warmupMs: 50, roundMs: 100, rounds: 5 }
    : { warmupMs: 200, roundMs: 400, rounds: 5 };
  return {
    help: values.help,
    list: values.list,
    quick: values.quick,
    settings,
    only: values.only === undefined ? null : new RegExp(values.only),
    json: values.json ?? null,
    render: values.render ?? null,
  };
}

/** What the results JSON holds. */
interface Results {
  startedAt: string;
  quick: boolean;
  only: string | null;
  settings: Settings;
  machine: ReturnType<typeof describeHost> & { loadAverageAtEnd: number[] };
  figures: Figure[];
  table: string;
}

function machineLine(machine: Results['machine']): string {
  return `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`;
}

async function main(): Promise<number> {
  const opts = options();
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.render !== null) {
    const saved = JSON.parse(await readFile(opts.render, 'utf8')) as Results;
    process.stdout.write(`${machineLine(saved.machine)}\n\n${renderFigures(saved.figures)}`);
    return 0;
  }
  const benches: Bench[] = [...hashBenches, ...transferBenches, ...manifestBenches()];
  if (opts.list) {
    process.stdout.write(`${benches.map((b) => b.id).join('\n')}\n`);
    return 0;
  }
  const chosen = benches.filter((b) => opts.only === null || opts.only.test(b.id));
  if (chosen.length === 0) {
    process.stderr.write('--only matches no benchmark (see --list)\n');
    return 2;
  }

  const startedAt = new Date();
  const host = describeHost();
  process.stdout.write(`${machineLine({ ...host, loadAverageAtEnd: [] })}\n\n`);
  const figures: Figure[] = [];
  for (const bench of chosen) {
    const mine = await bench.run(opts.settings);
    figures.push(...mine);
    const first = mine[0];
    if (first !== undefined) {
      process.stderr.write(`${bench.id}: ${first.median.toPrecision(3)} ${first.unit}\n`);
    }
  }

  const table = renderFigures(figures);
  const results: Results = {
    startedAt: startedAt.toISOString(),
    quick: opts.quick,
    only: opts.only?.source ?? null,
    settings: opts.settings,
    machine: { ...host, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    figures,
    table,
  };
  const stamp = startedAt.toISOString().slice(0, 19).replace(/:/g, '-');
  const file = opts.json ?? join(repoRoot, 'native-bench', 'results', `micro-${stamp}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${table}\nresults: ${file}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
