/**
 * Building blocks of the configuration schema: how the reference's YAML (read by Go's
 * yaml.v2) maps onto zod, shared by every section's schema.
 */
import { z } from 'zod';
import { parseGoDuration } from './duration.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A YAML key with nothing after it parses to null; the reference (Go, yaml.v2) reads that as
 * the zero value, i.e. "not set", so nulls are dropped before validation.
 */
export function dropNulls(value: unknown): unknown {
  if (value === null) return {};
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

export function section<S extends z.ZodRawShape>(shape: S) {
  return z.preprocess(dropNulls, z.object(shape).strict()).optional();
}

/**
 * A string option. yaml.v2 stores any scalar into a string field, so `secret: 12345` or a
 * log field `version: 2` is valid in the reference and must be here too.
 */
export function text() {
  return z
    .preprocess(
      (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
      z.string({ error: 'expected a string' }),
    )
    .optional();
}

export function bool() {
  return z.boolean({ error: 'expected true or false' }).optional();
}

/** A Go duration string; `positive` rejects zero and negative values. */
export function durationText(positive: boolean) {
  return z
    .string({ error: 'expected a duration such as 24h or 1m30s' })
    .refine(
      (v) => {
        const ms = parseGoDuration(v);
        return ms !== undefined && (positive ? ms > 0 : ms >= 0);
      },
      `expected a ${positive ? 'positive ' : ''}duration such as 24h or 1m30s`,
    )
    .optional();
}

/** Numeric strings count as integers: the reference filesystem driver parses them too. */
export function integer(min: number) {
  const message = `expected integer >= ${min}`;
  return z
    .preprocess(
      (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
      z.number({ error: message }).int({ error: message }).min(min, { error: message }),
    )
    .optional();
}

/** A section Berth does not implement but whose absence of effect is harmless. */
export function ignored() {
  return z.unknown().optional();
}

/**
 * A section Berth does not implement and must not ignore (ignoring `proxy` would serve a
 * cache's clients from an empty registry). The shape lists its known sub-keys only so that
 * `REGISTRY_*` variables naming them resolve (and then refuse) instead of being dismissed.
 */
export function refused(name: string, knownKeys: readonly string[]) {
  const shape = Object.fromEntries(knownKeys.map((k) => [k, z.unknown().optional()]));
  return z
    .preprocess(dropNulls, z.object(shape).loose())
    .refine(
      (v) => Object.keys(v).length === 0,
      `${name} is not supported yet by Berth, which will not start rather than ignore it`,
    )
    .optional();
}

export function unsupportedDriver(name: string) {
  return z
    .unknown()
    .refine(() => false, `storage driver ${name} is not supported yet by Berth (use filesystem)`)
    .optional();
}
