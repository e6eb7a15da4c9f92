/** The figures of the micro benchmarks and their Markdown tables. */
import { spread, type Round, type Settings } from './measure.js';

/** One figure of one benchmark, with the value of every round. */
export interface Figure {
  /** `<benchmark id>` or `<benchmark id>.<figure>`; `--only` matches the benchmark id. */
  id: string;
  group: string;
  name: string;
  unit: string;
  note: string;
  rounds: number[];
  median: number;
  min: number;
  max: number;
  /** What the benchmark observed besides timing (sizes, counts, detached buffers). */
  facts?: Record<string, number | string | boolean>;
}

/** What a benchmark is: an id, a table to appear in, and the measurement. */
export interface Bench {
  id: string;
  group: string;
  run(settings: Settings): Promise<Figure[]>;
}

/** A figure computed from each round by `value`; rounds where it is null are left out. */
export function figure(
  fields: Omit<Figure, 'rounds' | 'median' | 'min' | 'max'>,
  rounds: readonly Round[],
  value: (round: Round) => number | null,
): Figure {
  const values = rounds.map(value).filter((v): v is number => v !== null);
  return { ...fields, rounds: values, ...spread(values) };
}

/** Three significant digits, thousands grouped. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** The figures as Markdown tables, one per group, in the order they were measured. */
export function renderFigures(figures: readonly Figure[]): string {
  const out: string[] = [];
  for (const group of [...new Set(figures.map((f) => f.group))]) {
    out.push(`### ${group}`, '');
    out.push('| benchmark | median | min – max | unit | note |');
    out.push('|---|---:|---:|---|---|');
    for (const f of figures.filter((x) => x.group === group)) {
      const range = `${formatValue(f.min)} – ${formatValue(f.max)}`;
      out.push(`| ${f.name} | ${formatValue(f.median)} | ${range} | ${f.unit} | ${f.note} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
