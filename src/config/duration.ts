/**
 * Go duration strings (`time.ParseDuration`), the format the reference registry uses for
 * every time value in its configuration: `60s`, `1m30s`, `500ms`, `1.5h`, `0`.
 */

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu; Go accepts both spellings
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PAIR = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go duration string into milliseconds (possibly fractional).
 *
 * Accepts what Go's `time.ParseDuration` accepts: an optional sign, then one or more
 * `number unit` pairs with units ns, us (µs), ms, s, m, h, or the bare string `0`.
 * Returns `undefined` for anything else, including an empty string or a missing unit.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  PAIR.lastIndex = 0;
  while (PAIR.lastIndex < rest.length) {
    const match = PAIR.exec(rest);
    if (match === null) return undefined;
    const unit = MS_PER_UNIT[match[2] ?? ''];
    if (unit === undefined) return undefined;
    total += Number(match[1]) * unit;
  }
  return sign * total;
}
