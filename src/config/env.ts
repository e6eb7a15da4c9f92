/**
 * `REGISTRY_*` environment overrides, as the reference registry applies them: the variable
 * name is `REGISTRY_` followed by the upper-cased key path joined with `_`
 * (`REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry`), and the value is read as YAML
 * (`true`, `100`, `[nosniff]`).
 */
import { z } from 'zod';
import YAML from 'yaml';
import { configSchema, DRIVER_KEYS } from './schema.js';

/** What applying the environment produced, besides the changes to the document. */
export interface EnvOverrideResult {
  /** Variables that could not be applied (invalid YAML values); each names the variable. */
  problems: string[];
  /** Variables naming no known key: reported, never fatal (podman sets `REGISTRY_AUTH_FILE`). */
  warnings: string[];
  /** Dotted key path set → name of the variable that set it, to attribute later errors. */
  origins: Map<string, string>;
}

type KeyNode =
  | { kind: 'object'; keys: ReadonlyMap<string, z.ZodType> }
  | { kind: 'map'; value: z.ZodType }
  | { kind: 'opaque' }
  | { kind: 'scalar'; text: boolean };

/** Sees through the wrappers the schema uses to the shape that decides which keys exist. */
function nodeOf(schema: z.ZodType): KeyNode {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = (s.out instanceof z.ZodTransform ? s.in : s.out) as z.ZodType;
    } else {
      break;
    }
  }
  if (s instanceof z.ZodObject) {
    return { kind: 'object', keys: new Map<string, z.ZodType>(Object.entries(s.shape)) };
  }
  if (s instanceof z.ZodRecord) return { kind: 'map', value: s.valueType as z.ZodType };
  if (s instanceof z.ZodUnknown || s instanceof z.ZodAny) return { kind: 'opaque' };
  return { kind: 'scalar', text: s instanceof z.ZodString };
}

interface Target {
  path: string[];
  /** The key holds a string: keep the variable's text rather than YAML's number or boolean. */
  text: boolean;
  /** The last key is a free-form map key (a header name), matched ignoring case. */
  mapKey: boolean;
}

/**
 * Finds the key a variable names. Keys may themselves contain `_` in principle, so at each
 * level the longest run of segments naming a known key wins. Below a free-form map the rest
 * is one key (`REGISTRY_LOG_FIELDS_BUILD_ID` sets `log.fields.build_id`); below a section
 * Berth does not interpret, each segment is one level, as in the reference.
 */
function resolve(segments: readonly string[]): Target | undefined {
  const path: string[] = [];
  let node = nodeOf(configSchema);
  let i = 0;
  while (i < segments.length) {
    if (node.kind === 'object') {
      let child: z.ZodType | undefined;
      for (let k = segments.length - i; k >= 1 && child === undefined; k--) {
        const key = segments
          .slice(i, i + k)
          .join('_')
          .toLowerCase();
        child = node.keys.get(key);
        if (child !== undefined) {
          path.push(key);
          i += k;
        }
      }
      if (child === undefined) return undefined;
      node = nodeOf(child);
    } else if (node.kind === 'map') {
      path.push(segments.slice(i).join('_').toLowerCase());
      const value = nodeOf(node.value);
      return { path, text: value.kind === 'scalar' && value.text, mapKey: true };
    } else if (node.kind === 'opaque') {
      path.push(...segments.slice(i).map((s) => s.toLowerCase()));
      return { path, text: false, mapKey: false };
    } else {
      return undefined;
    }
  }
  return { path, text: node.kind === 'scalar' && node.text, mapKey: false };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setAt(root: Record<string, unknown>, target: Target, value: unknown): void {
  let cur = root;
  const last = target.path.length - 1;
  for (const key of target.path.slice(0, last)) {
    const next = cur[key];
    if (isRecord(next)) {
      cur = next;
    } else {
      const created: Record<string, unknown> = {};
      cur[key] = created;
      cur = created;
    }
  }
  const key = target.path[last] ?? '';
  if (target.mapKey) {
    // Header names are case-insensitive, and the variable name is upper-cased.
    for (const existing of Object.keys(cur)) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a plain config map
      if (existing.toLowerCase() === key) delete cur[existing];
    }
  }
  cur[key] = value;
}

/**
 * `REGISTRY_STORAGE=<driver>` switches the driver. Unlike the reference, which replaces the
 * whole section, the storage options (delete, maintenance, ...) are kept: the variable is
 * about the driver, and losing `delete.enabled` as a side effect would be a surprise.
 */
function replaceDriver(root: Record<string, unknown>, driver: string): void {
  const storage = isRecord(root['storage']) ? root['storage'] : {};
  const kept = storage[driver];
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a plain config map
  for (const key of DRIVER_KEYS) delete storage[key];
  storage[driver] = isRecord(kept) ? kept : {};
  root['storage'] = storage;
}

/**
 * Applies every `REGISTRY_*` variable of `env` to `root` (the parsed YAML document), in
 * variable-name order like the reference, so that `REGISTRY_STORAGE` is applied before
 * `REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY`.
 *
 * Mutates `root`. Never throws: variables naming no known key become warnings, values that
 * are not valid YAML become problems for the caller to report with the rest.
 */
export function applyEnvOverrides(
  root: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): EnvOverrideResult {
  const result: EnvOverrideResult = { problems: [], warnings: [], origins: new Map() };
  const names = Object.keys(env)
    .filter((name) => name.startsWith('REGISTRY_'))
    .sort();
  for (const name of names) {
    const raw = env[name] ?? '';
    const target = resolve(name.slice('REGISTRY_'.length).split('_'));
    if (target === undefined) {
      result.warnings.push(`ignoring environment variable ${name}: it names no configuration key`);
      continue;
    }
    let value: unknown;
    try {
      value = YAML.parse(raw, { version: '1.1' });
    } catch (err) {
      const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      result.problems.push(`${name}: value is not valid YAML (${reason})`);
      continue;
    }
    if (target.text && (typeof value === 'number' || typeof value === 'boolean')) {
      // yaml.v2 keeps the text for a string field: REGISTRY_HTTP_SECRET=0123 is "0123", not 83.
      value = raw.trim();
    }
    if (target.path.length === 1 && target.path[0] === 'storage' && typeof value === 'string') {
      replaceDriver(root, value);
    } else {
      setAt(root, target, value);
    }
    result.origins.set(target.path.join('.'), name);
  }
  return result;
}
