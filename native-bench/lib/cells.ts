/**
 * A cell is one scenario at one concurrency, measured on every registry in turn. This
 * module holds the figures' catalogue, the per-server measurement (server CPU and peak RSS
 * around the load) and the alternation of servers.
 */
import { cpuSeconds, resetPeakRss, statusBytes } from './proc.js';
import { median, percentile, type LoopResult } from './load.js';
import type { Server, ServerKey } from './servers.js';
import type { WrkResult } from './wrk.js';

/** How a figure is printed: a rate, MB/s, a duration in seconds, MiB, a plain number. */
export type Kind = 'rate' | 'mbps' | 'ms' | 'seconds' | 'mib' | 'count';

/** One figure a cell reports. */
export interface MetricDef {
  label: string;
  kind: Kind;
  better: 'higher' | 'lower';
}

/** Every figure any cell reports, by key; the table prints columns in this order. */
export const METRICS = {
  reqps: { label: 'req/s', kind: 'rate', better: 'higher' },
  opsps: { label: 'blobs/s', kind: 'rate', better: 'higher' },
  imagesps: { label: 'images/s', kind: 'rate', better: 'higher' },
  pagesps: { label: 'pages/s', kind: 'rate', better: 'higher' },
  tagsps: { label: 'tags/s', kind: 'rate', better: 'higher' },
  pages: { label: 'pages for 1000 tags', kind: 'count', better: 'higher' },
  mbps: { label: 'MB/s', kind: 'mbps', better: 'higher' },
  uploadMBps: { label: 'upload MB/s', kind: 'mbps', better: 'higher' },
  wallS: { label: 'storm wall', kind: 'seconds', better: 'lower' },
  p50: { label: 'p50', kind: 'ms', better: 'lower' },
  p99: { label: 'p99', kind: 'ms', better: 'lower' },
  cpuOp: { label: 'CPU/op', kind: 'seconds', better: 'lower' },
  cpuGiB: { label: 'CPU s/GiB', kind: 'rate', better: 'lower' },
  rss: { label: 'peak RSS MiB', kind: 'mib', better: 'lower' },
} as const satisfies Record<string, MetricDef>;

/** A figure's key. */
export type MetricKey = keyof typeof METRICS;

/** Figures of one server in one cell; null where not measurable (no request completed). */
export type Figures = Partial<Record<MetricKey, number | null>>;

/** What a scenario's load function returns for one server. */
export interface Measured {
  figures: Figures;
  /** Operations completed, for CPU per operation. */
  ops: number;
  /** Payload bytes moved, for CPU per GiB. */
  bytes: number;
  errors: number;
  note?: string;
}

/** One scenario at one concurrency. */
export interface CellSpec {
  id: string;
  group: string;
  title: string;
  concurrency: number | null;
  /** Figures shown in the table, besides CPU and RSS which every cell gets. */
  show: MetricKey[];
  /** Whether CPU is shown per GiB (large transfers) rather than per operation. */
  cpuPerGiB?: boolean;
  run(server: Server): Promise<Measured>;
  /** Runs after each server's measurement (e.g. removes uploaded blobs). */
  after?(server: Server): Promise<void>;
  /** The same load against nginx, reported beside (large GETs). */
  nginx?(): Promise<Measured>;
}

/** A measured cell, as the JSON and the table hold it. */
export interface CellResult {
  id: string;
  group: string;
  title: string;
  concurrency: number | null;
  show: MetricKey[];
  /** CPU per GiB moved rather than per operation. */
  cpuPerGiB: boolean;
  /** Median over the repeats, by server. */
  figures: Partial<Record<ServerKey | 'nginx', Figures>>;
  /** Every repeat, by server. */
  repeats: Partial<Record<ServerKey, Figures[]>>;
  notes: string[];
}

/** Figures of a closed loop of operations. */
export function loopFigures(r: LoopResult): Figures {
  return {
    opsps: r.ops / r.elapsedS,
    reqps: r.ops / r.elapsedS,
    mbps: r.bytes / r.elapsedS / 1e6,
    p50: percentile(r.latenciesMs, 50),
    p99: percentile(r.latenciesMs, 99),
  };
}

/** Figures of a wrk run; latencies are null when no request completed. */
export function wrkFigures(r: WrkResult): Figures {
  const done = r.requests > 0;
  return {
    reqps: r.requests / r.durationS,
    mbps: r.bytes / r.durationS / 1e6,
    p50: done ? r.p50 : null,
    p99: done ? r.p99 : null,
  };
}

/** Adds a sentence to a measurement's note. */
export function addNote(m: Measured, text: string): void {
  m.note = m.note === undefined ? text : `${m.note}; ${text}`;
}

/** A loop result as {@link Measured}. */
export function fromLoop(r: LoopResult, figures: Figures = loopFigures(r)): Measured {
  const m: Measured = { figures, ops: r.ops, bytes: r.bytes, errors: r.errors };
  if (r.firstError !== undefined) addNote(m, `${r.errors} errors, first: ${r.firstError}`);
  if (r.reconnects !== undefined && r.reconnects > 0) {
    addNote(
      m,
      `closed the connection after ${r.reconnects} of ${r.ops} responses (client reconnected)`,
    );
  }
  return m;
}

/** Notes requests a client resent because the server closed or reset the connection. */
export function noteRetries(
  m: Measured,
  client: { retries: number; freshRetries: number },
): Measured {
  if (client.retries > 0) {
    addNote(
      m,
      `${client.retries} requests resent after the connection was closed or reset before a ` +
        `response (${client.freshRetries} of them on a new connection)`,
    );
  }
  return m;
}

/** A wrk result as {@link Measured}. */
export function fromWrk(r: WrkResult): Measured {
  const errors = r.badStatus + r.socketErrors;
  const m: Measured = { figures: wrkFigures(r), ops: r.requests, bytes: r.bytes, errors };
  if (errors > 0) m.note = `${r.badStatus} bad statuses, ${r.socketErrors} socket errors`;
  return m;
}

/** Whether peak RSS could be reset before each cell (else it is the peak so far). */
export let peakResetWorks = true;

/** Runs `spec` on one server with its CPU time and peak RSS measured around it. */
async function measureOn(spec: CellSpec, server: Server): Promise<Measured> {
  if (!resetPeakRss(server.pid)) peakResetWorks = false;
  const cpu0 = cpuSeconds(server.pid);
  const m = await spec.run(server);
  const cpu = cpuSeconds(server.pid) - cpu0;
  m.figures.cpuOp = m.ops > 0 ? cpu / m.ops : null;
  m.figures.cpuGiB = m.bytes > 0 ? cpu / (m.bytes / 2 ** 30) : null;
  m.figures.rss = statusBytes(server.pid, 'VmHWM') / 2 ** 20;
  return m;
}

function medianFigures(samples: readonly Figures[]): Figures {
  const out: Figures = {};
  for (const key of Object.keys(METRICS) as MetricKey[]) {
    const values = samples.map((s) => s[key]).filter((v): v is number => typeof v === 'number');
    if (values.length > 0) out[key] = median(values);
    else if (samples.some((s) => key in s)) out[key] = null;
  }
  return out;
}

/**
 * Measures `spec` on every server, `repeats` times, rotating which server goes first
 * (`turn` is the cell's position, so consecutive cells start with different servers).
 */
export async function runCell(
  spec: CellSpec,
  servers: readonly Server[],
  repeats: number,
  turn: number,
): Promise<CellResult> {
  const result: CellResult = {
    id: spec.id,
    group: spec.group,
    title: spec.title,
    concurrency: spec.concurrency,
    show: spec.show,
    cpuPerGiB: spec.cpuPerGiB ?? false,
    figures: {},
    repeats: {},
    notes: [],
  };
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(i + turn + r) % servers.length];
      if (server === undefined || server.key === 'nginx') continue;
      const m = await measureOn(spec, server);
      (result.repeats[server.key] ??= []).push(m.figures);
      if (m.note !== undefined) result.notes.push(`${server.label}: ${m.note}`);
      if (spec.after !== undefined) await spec.after(server);
    }
  }
  for (const [key, samples] of Object.entries(result.repeats)) {
    result.figures[key as ServerKey] = medianFigures(samples);
  }
  if (spec.nginx !== undefined) {
    const m = await spec.nginx();
    result.figures.nginx = m.figures;
    if (m.note !== undefined) result.notes.push(`nginx: ${m.note}`);
  }
  return result;
}
