/**
 * Docker Distribution canonical JSON (distribution spec json.md): RFC 7159 text in UTF-8,
 * object keys in lexical order, no whitespace between tokens, and `<`, `>`, `&` escaped as
 * `\u003c`, `\u003e`, `\u0026`. The document names Go's `json.Marshal` as the reference
 * encoder, so where json.md is silent this module does what that encoder does:
 *
 * - keys are ordered by Unicode code point, which is the byte order of their UTF-8 form that
 *   Go sorts map keys by; JavaScript's default sort compares UTF-16 code units instead and
 *   disagrees for keys holding characters above U+FFFF;
 * - strings escape `"` and `\`, write `\b`, `\f`, `\n`, `\r`, `\t` short and every other
 *   control character as `\u00xx` in lowercase hex (Go 1.22 and later; older Go wrote
 *   `\u0008` and `\u000c`), also escape U+2028 and U+2029, and leave everything else,
 *   `/` and DEL included, as raw UTF-8;
 * - a lone surrogate, which has no UTF-8 form, becomes the escape `\ufffd`, as Go writes for
 *   invalid UTF-8;
 * - numbers use the shortest text that reads back to the same double, without exponent
 *   from 1e-6 up to 1e21 (Go's encoder follows ES6 here, so `1e9` is `1000000000`), and `-0`
 *   stays `-0` as in Go; a bigint is written as its exact integer.
 */

const shortEscapes: Record<number, string> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function unicodeEscape(unit: number): string {
  return `\\u${unit.toString(16).padStart(4, '0')}`;
}

/** Whether the code unit at `i` starts a valid surrogate pair. */
function isPairAt(text: string, i: number): boolean {
  const high = text.charCodeAt(i);
  const low = text.charCodeAt(i + 1);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}

/** Encodes one string as a canonical JSON string literal, quotes included. */
export function encodeString(text: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    let escape: string | undefined;
    if (unit >= 0xd800 && unit <= 0xdfff) {
      if (isPairAt(text, i)) {
        i++;
        continue;
      }
      escape = '\\ufffd';
    } else if (unit < 0x20 || unit === 0x22 || unit === 0x5c) {
      escape = shortEscapes[unit] ?? unicodeEscape(unit);
    } else if (
      unit === 0x3c ||
      unit === 0x3e ||
      unit === 0x26 ||
      unit === 0x2028 ||
      unit === 0x2029
    ) {
      escape = unicodeEscape(unit);
    } else {
      continue;
    }
    out += text.slice(start, i) + escape;
    start = i + 1;
  }
  return `${out}${text.slice(start)}"`;
}

/**
 * Orders strings by Unicode code point. UTF-16 order already agrees except between a
 * surrogate (a character above U+FFFF) and a unit from U+E000 to U+FFFF, so those two ranges
 * are swapped before comparing.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

function encodeNumber(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for ${value}`);
  // String() already gives ES6's shortest round-trip form, which Go's encoder copies.
  return Object.is(value, -0) ? '-0' : String(value);
}

function encodeValue(value: unknown, open: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return encodeContainer(value, open);
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

function encodeContainer(value: object, open: Set<object>): string {
  if (open.has(value)) throw new TypeError('canonical JSON cannot encode a cycle');
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return encodeValue(toJSON.call(value) as unknown, open);
  if (!Array.isArray(value) && !isPlainObject(value)) {
    throw new TypeError(`canonical JSON has no form for a ${value.constructor.name}`);
  }

  open.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((item: unknown) => encodeValue(item, open)).join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    // An undefined member is absent, as JSON.stringify and optional properties have it.
    const keys = Object.keys(record).filter((key) => record[key] !== undefined);
    keys.sort(compareCodePoints);
    text = `{${keys.map((key) => `${encodeString(key)}:${encodeValue(record[key], open)}`).join(',')}}`;
  }
  open.delete(value);
  return text;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Serializes a JSON value (what `JSON.parse` returns, plus bigints and objects with
 * `toJSON`) as json.md canonical JSON, following Go's `json.Marshal` where json.md is
 * silent (see the module comment). Object members whose value is `undefined` are left out.
 * Throws `TypeError` for values JSON cannot hold: `undefined` elsewhere, functions,
 * symbols, non-finite numbers, cycles, and objects other than arrays and plain objects.
 */
export function canonicalize(value: unknown): string {
  return encodeValue(value, new Set());
}
