/** The printed table (Markdown) and the targets checked against a run. */
import { METRICS, type CellResult, type Figures, type MetricKey } from './cells.js';
import type { ServerKey } from './servers.js';

const SERVER_LABELS: Record<ServerKey, string> = {
  go: 'Go',
  berth: 'Berth',
  berthNoGw: 'Berth (gateway off)',
};

function fixed(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** A figure as printed: rates grouped, durations with units, null as a dash. */
export function formatFigure(key: MetricKey, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (METRICS[key].kind) {
    case 'ms':
      return duration(value);
    case 'seconds':
      return duration(value * 1000);
    case 'mib':
      return value.toFixed(0);
    case 'count':
      return Number.isInteger(value) ? String(value) : fixed(value);
    default:
      return fixed(value);
  }
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return null;
  return a / b;
}

function formatRatio(r: number | null): string {
  if (r === null) return '';
  return r >= 10 ? ` ×${r.toFixed(1)}` : ` ×${r.toFixed(2)}`;
}

function columnsOf(cells: readonly CellResult[]): MetricKey[] {
  const wanted = new Set<MetricKey>();
  for (const cell of cells) {
    for (const k of cell.show) wanted.add(k);
    if (cell.group.startsWith('Load generator')) continue;
    wanted.add(cell.cpuPerGiB ? 'cpuGiB' : 'cpuOp');
    wanted.add('rss');
  }
  return (Object.keys(METRICS) as MetricKey[]).filter((k) => wanted.has(k));
}

function cellText(cell: CellResult, key: MetricKey, servers: readonly ServerKey[]): string {
  const go = cell.figures.go?.[key];
  const values = servers.map((s) => formatFigure(key, cell.figures[s]?.[key]));
  const ratios = servers
    .filter((s) => s !== 'go')
    .map((s) => formatRatio(ratio(cell.figures[s]?.[key], go)))
    .join('');
  return `${values.join(' / ')}${ratios}`;
}

/**
 * The results as Markdown tables, one per group. Each figure reads "Go / Berth ×ratio"
 * with the ratio Berth / Go; nginx figures stand in their own column.
 */
export function renderTables(cells: readonly CellResult[], servers: readonly ServerKey[]): string {
  const out: string[] = [];
  const groups = [...new Set(cells.map((c) => c.group))];
  for (const group of groups) {
    const rows = cells.filter((c) => c.group === group);
    const nginxOnly = rows.every((c) => Object.keys(c.repeats).length === 0);
    const cols = columnsOf(rows);
    const hasNginx = !nginxOnly && rows.some((c) => c.figures.nginx !== undefined);
    out.push(`### ${group}`, '');
    if (nginxOnly) {
      out.push(`| generator | c | ${cols.map((k) => METRICS[k].label).join(' | ')} |`);
      out.push(`|---|---:|${cols.map(() => '---:').join('|')}|`);
      for (const cell of rows) {
        const vals = cols.map((k) => formatFigure(k, cell.figures.nginx?.[k]));
        out.push(`| ${cell.title} | ${cell.concurrency ?? ''} | ${vals.join(' | ')} |`);
      }
    } else {
      const names = servers.map((s) => SERVER_LABELS[s]).join(' / ');
      out.push(`Each figure: ${names} ×(Berth / Go).`, '');
      const head: string[] = cols.map((k) => METRICS[k].label);
      if (hasNginx) head.push('nginx MB/s (Berth / nginx)');
      out.push(`| scenario | c | ${head.join(' | ')} |`);
      out.push(`|---|---:|${head.map(() => '---:').join('|')}|`);
      for (const cell of rows) {
        const vals = cols.map((k) => (shown(cell, k) ? cellText(cell, k, servers) : ''));
        if (hasNginx) {
          const n = cell.figures.nginx?.mbps;
          vals.push(
            n === undefined
              ? ''
              : `${formatFigure('mbps', n)}${formatRatio(ratio(cell.figures.berth?.mbps, n))}`,
          );
        }
        out.push(`| ${cell.title} | ${cell.concurrency ?? ''} | ${vals.join(' | ')} |`);
      }
    }
    const notes = rows.flatMap((c) => [...new Set(c.notes)].map((n) => `${c.id}: ${n}`));
    if (notes.length > 0) out.push('', ...notes.map((n) => `- ${n}`));
    out.push('');
  }
  return out.join('\n');
}

/** A cell shows its own figures, CPU per GiB (large transfers) or per operation, and RSS. */
function shown(cell: CellResult, key: MetricKey): boolean {
  if (key === 'cpuGiB') return cell.cpuPerGiB;
  if (key === 'cpuOp') return !cell.cpuPerGiB;
  return key === 'rss' || cell.show.includes(key);
}

/** One condition of a target, on one cell and figure. */
interface Check {
  cell: string;
  metric: MetricKey;
  /** `ratio`: Berth / Go; `nginx`: Berth / nginx; `absolute`: Berth's own figure. */
  against: 'ratio' | 'nginx' | 'absolute';
  op: '>=' | '<=';
  value: number;
}

/** A target of the issue and its outcome for one Berth configuration. */
export interface TargetResult {
  target: string;
  server: ServerKey;
  met: boolean;
  passed: number;
  checked: number;
  /** The check with the least margin, as text. */
  worst: string;
  checks: (Check & { measured: number | null; ok: boolean })[];
}

const sizesAll = ['1k', '1m', '32m', '256m'];

function targetDefs(diskWriteMBps: number, cells: readonly CellResult[]): [string, Check[]][] {
  const r = (cell: string, metric: MetricKey, op: Check['op'], value: number): Check => ({
    cell,
    metric,
    against: 'ratio',
    op,
    value,
  });
  return [
    [
      'manifest GET by tag and by digest, c=64 and 256: ≥ 10× req/s, p99 ≤ ⅕',
      ['tag', 'digest'].flatMap((by) =>
        [64, 256].flatMap((c) => [
          r(`manifest.get.${by}.c${c}`, 'reqps', '>=', 10),
          r(`manifest.get.${by}.c${c}`, 'p99', '<=', 0.2),
        ]),
      ),
    ],
    [
      'blob HEAD, c=16 and 64: ≥ 10× req/s',
      sizesAll.flatMap((s) => [16, 64].map((c) => r(`read.head.${s}.c${c}`, 'reqps', '>=', 10))),
    ],
    [
      'blob GET 1 KiB and 1 MiB, c=16: ≥ 5× req/s',
      ['1k', '1m'].map((s) => r(`read.get.${s}.c16`, 'reqps', '>=', 5)),
    ],
    [
      'blob GET 256 MiB, c=16: ≥ 1.5× MB/s and ≥ 80 % of nginx',
      [
        r('read.get.256m.c16', 'mbps', '>=', 1.5),
        { cell: 'read.get.256m.c16', metric: 'mbps', against: 'nginx', op: '>=', value: 0.8 },
      ],
    ],
    [
      `blob upload 256 MiB c=4 two-step: ≥ 3× MB/s and ≥ 50 % of disk write (${diskWriteMBps} MB/s)`,
      [
        r('upload.two-step.256m.c4', 'mbps', '>=', 3),
        {
          cell: 'upload.two-step.256m.c4',
          metric: 'mbps',
          against: 'absolute',
          op: '>=',
          value: diskWriteMBps / 2,
        },
      ],
    ],
    [
      'chunked upload 256 MiB: ≥ 4× MB/s',
      [1, 4].map((c) => r(`upload.chunked.256m.c${c}`, 'mbps', '>=', 4)),
    ],
    [
      'blob upload 1 KiB and 1 MiB, c=16: ≥ 5× ops/s',
      ['two-step', 'single'].flatMap((m) =>
        ['1k', '1m'].map((s) => r(`upload.${m}.${s}.c16`, 'opsps', '>=', 5)),
      ),
    ],
    ['push storm: ≥ 3× images/s', [r('storm.c32', 'imagesps', '>=', 3)]],
    [
      'tags list of 1000 paged by 100: ≥ 5× pages/s, and the paging works (10 pages)',
      [1, 16].flatMap((c) => [
        r(`tags.list.c${c}`, 'pagesps', '>=', 5),
        { cell: `tags.list.c${c}`, metric: 'pages', against: 'absolute', op: '>=', value: 10 },
        { cell: `tags.list.c${c}`, metric: 'pages', against: 'absolute', op: '<=', value: 10 },
      ]),
    ],
    [
      'manifest GET p99 during four 256 MiB uploads: ≤ ⅕ of Go',
      [r('underload.manifest-get', 'p99', '<=', 0.2)],
    ],
    [
      'peak RSS ≤ 256 MiB in any scenario',
      cells
        .filter((c) => Object.keys(c.repeats).length > 0)
        .map((c): Check => ({
          cell: c.id,
          metric: 'rss',
          against: 'absolute',
          op: '<=',
          value: 256,
        })),
    ],
  ];
}

function measure(cell: CellResult | undefined, check: Check, server: ServerKey): number | null {
  if (cell === undefined) return null;
  const mine = cell.figures[server]?.[check.metric];
  if (check.against === 'absolute') return typeof mine === 'number' ? mine : null;
  const other: Figures | undefined =
    check.against === 'nginx' ? cell.figures.nginx : cell.figures.go;
  return ratio(mine, other?.[check.metric]);
}

/** Checks every target of the issue that the run's cells cover. */
export function evaluateTargets(
  cells: readonly CellResult[],
  server: ServerKey,
  diskWriteMBps: number,
): TargetResult[] {
  const byId = new Map(cells.map((c) => [c.id, c]));
  const results: TargetResult[] = [];
  for (const [target, defs] of targetDefs(diskWriteMBps, cells)) {
    const checks = defs
      .filter((d) => byId.has(d.cell))
      .map((d) => {
        const measured = measure(byId.get(d.cell), d, server);
        const ok = measured !== null && (d.op === '>=' ? measured >= d.value : measured <= d.value);
        return { ...d, measured, ok };
      });
    if (checks.length === 0) continue;
    const margin = (c: (typeof checks)[number]): number => {
      if (c.measured === null || c.measured === 0) return -Infinity;
      return c.op === '>=' ? c.measured / c.value : c.value / c.measured;
    };
    const worst = checks.reduce((a, b) => (margin(b) < margin(a) ? b : a));
    const shown =
      worst.against === 'absolute'
        ? formatFigure(worst.metric, worst.measured)
        : worst.measured === null
          ? '—'
          : `×${worst.measured.toFixed(2)}`;
    const need = worst.against === 'absolute' ? String(worst.value) : `×${worst.value}`;
    const vs = worst.against === 'nginx' ? ' of nginx' : '';
    results.push({
      target,
      server,
      met: checks.every((c) => c.ok),
      passed: checks.filter((c) => c.ok).length,
      checked: checks.length,
      worst: `${worst.cell} ${METRICS[worst.metric].label} ${shown}${vs} (needs ${worst.op} ${need})`,
      checks,
    });
  }
  return results;
}

/** The targets as a Markdown table; `repeat` is how many times each cell ran per server. */
export function renderTargets(results: readonly TargetResult[], repeat: number): string {
  const runs = repeat > 1 ? `medians of ${repeat} repeats, one run` : 'one run';
  const out = [`### Targets of the issue (${runs})`, ''];
  out.push('| target | Berth config | met | checks passed | worst cell |');
  out.push('|---|---|:-:|---:|---|');
  for (const t of results) {
    out.push(
      `| ${t.target} | ${SERVER_LABELS[t.server]} | ${t.met ? 'yes' : 'no'} | ${t.passed}/${t.checked} | ${t.worst} |`,
    );
  }
  return `${out.join('\n')}\n`;
}
