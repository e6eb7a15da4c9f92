/**
 * AWS's published IP ranges (the `ip-ranges.json` document: `prefixes[].ip_prefix` and
 * `ipv6_prefixes[].ipv6_prefix`, each with its `region` and `service`), kept in memory for
 * the `cloudfront` middleware's `ipfilteredby`. Fetched in the background when started and
 * every `updatefrequency` after; a failed fetch keeps the last set and is logged. Until the
 * first fetch succeeds no address is inside, so every client gets CloudFront, the safe
 * answer (a client wrongly sent to the bucket may pay for cross-region traffic or be
 * refused by a bucket policy).
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import type { Logger } from 'pino';

/** How long one fetch of the document may take, body included. */
const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
/** The longest delay a Node timer takes (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface AwsIpRangesOptions {
  /** The document's URL (`iprangesurl`). */
  url: string;
  /** Lowercase regions whose ranges count; empty for every region. */
  regions: readonly string[];
  /** Delay between fetches (`updatefrequency`). */
  updateMs: number;
  /** Limit of one fetch; 30 s by default. */
  timeoutMs?: number;
}

/**
 * The ranges of one fetch. A `BlockList` checks its rules one by one: about 120 µs per
 * address for the 12,000 prefixes of a document shaped like AWS's (measured here). So the
 * prefixes are spread over lists by their first IPv4 byte or first IPv6 group, duplicates
 * (AWS lists a prefix once per service) dropped, and an address is checked against its own
 * list only, plus the few prefixes too short to have a first byte or group of their own:
 * about 10 µs for IPv4, 40 µs for IPv6 in the same document.
 */
class RangeSet {
  readonly #v4 = new Map<number, BlockList>();
  readonly #v6 = new Map<number, BlockList>();
  readonly #wide = new BlockList();
  readonly #seen = new Set<string>();
  ipv4 = 0;
  ipv6 = 0;

  /** Adds `address/length`, a valid prefix of `family`; a repeated one is skipped. */
  add(address: string, length: number, family: 'ipv4' | 'ipv6'): void {
    const text = `${address}/${length}`;
    if (this.#seen.has(text)) return;
    this.#seen.add(text);
    const v4 = family === 'ipv4';
    if (length < (v4 ? 8 : 16)) {
      this.#wide.addSubnet(address, length, family);
    } else {
      const buckets = v4 ? this.#v4 : this.#v6;
      const key = leadingKey(address, v4);
      let list = buckets.get(key);
      if (list === undefined) buckets.set(key, (list = new BlockList()));
      list.addSubnet(address, length, family);
    }
    this[family]++;
  }

  /** Whether a valid address of `family` (4 or 6) is in a range. */
  check(ip: string, family: number): boolean {
    let address = ip;
    let v4 = family === 4;
    if (!v4) {
      // Normalised, so that a mapped IPv4 address is recognised in any spelling.
      address = new SocketAddress({ address: ip, family: 'ipv6' }).address;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
      if (mapped?.[1] !== undefined) [address, v4] = [mapped[1], true];
    }
    const type = v4 ? 'ipv4' : 'ipv6';
    const list = (v4 ? this.#v4 : this.#v6).get(leadingKey(address, v4));
    return (list?.check(address, type) ?? false) || this.#wide.check(address, type);
  }
}

/** The first byte of an IPv4 address, or the first group of a (normalised) IPv6 one. */
function leadingKey(address: string, v4: boolean): number {
  const head = address.slice(0, address.indexOf(v4 ? '.' : ':'));
  return head === '' ? 0 : parseInt(head, v4 ? 10 : 16);
}

export class AwsIpRanges {
  readonly #options: AwsIpRangesOptions;
  readonly #log: Logger | undefined;
  #set: RangeSet | null = null;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<boolean> | null = null;
  #abort = new AbortController();

  constructor(options: AwsIpRangesOptions, log?: Logger) {
    this.#options = options;
    this.#log = log;
  }

  /** Whether a fetch has succeeded yet. */
  get loaded(): boolean {
    return this.#set !== null;
  }

  /**
   * Starts the first fetch without waiting for it, and the periodic ones. The timer does
   * not keep the process alive.
   */
  start(): void {
    if (this.#timer !== null || this.#abort.signal.aborted) return;
    void this.refresh();
    const every = Math.min(this.#options.updateMs, MAX_TIMER_MS);
    this.#timer = setInterval(() => void this.refresh(), every);
    this.#timer.unref();
  }

  /** Stops the periodic fetches and abandons one under way. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#abort.abort();
  }

  /**
   * Fetches the document and replaces the ranges with its own. Resolves with whether it
   * succeeded; a failure is logged and leaves the ranges as they were. Calls made while a
   * fetch is under way share it.
   */
  refresh(): Promise<boolean> {
    this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  /** Whether `ip` (an IPv4 or IPv6 address) lies in the ranges; false for anything else. */
  contains(ip: string): boolean {
    const family = isIP(ip);
    if (family === 0 || this.#set === null) return false;
    return this.#set.check(ip, family);
  }

  async #fetch(): Promise<boolean> {
    const { url, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS } = this.#options;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]);
    let set: RangeSet;
    try {
      const res = await fetch(url, { signal });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`status ${res.status}`);
      }
      set = this.#build(await res.json());
    } catch (err) {
      if (this.#abort.signal.aborted) return false;
      const message = err instanceof Error ? err.message : String(err);
      this.#log?.warn({ url, err: message }, 'aws ip ranges not updated, keeping the last set');
      return false;
    }
    if (this.#abort.signal.aborted) return false;
    this.#set = set;
    this.#log?.info({ url, ipv4: set.ipv4, ipv6: set.ipv6 }, 'aws ip ranges updated');
    return true;
  }

  /** The ranges of a document, filtered by region; throws when it is not one. */
  #build(doc: unknown): RangeSet {
    if (!isRecord(doc) || !Array.isArray(doc['prefixes'])) {
      throw new Error('not an ip ranges document (no prefixes list)');
    }
    const v6 = doc['ipv6_prefixes'];
    const set = new RangeSet();
    let bad = 0;
    for (const entry of doc['prefixes'] as unknown[]) {
      if (this.#wanted(entry) && !addRange(set, entry, 'ip_prefix', 'ipv4')) bad++;
    }
    for (const entry of Array.isArray(v6) ? (v6 as unknown[]) : []) {
      if (this.#wanted(entry) && !addRange(set, entry, 'ipv6_prefix', 'ipv6')) bad++;
    }
    if (bad > 0) this.#log?.warn({ entries: bad }, 'aws ip ranges: unreadable prefixes skipped');
    return set;
  }

  /** Whether an entry's region is one of the configured ones (any, when none is). */
  #wanted(entry: unknown): boolean {
    const { regions } = this.#options;
    if (regions.length === 0) return true;
    const region = isRecord(entry) ? entry['region'] : undefined;
    return typeof region === 'string' && regions.includes(region.toLowerCase());
  }
}

/** Adds `entry[key]` (`address/length`) to the set; false when it is not such a prefix. */
function addRange(set: RangeSet, entry: unknown, key: string, family: 'ipv4' | 'ipv6'): boolean {
  const prefix = isRecord(entry) ? entry[key] : undefined;
  if (typeof prefix !== 'string') return false;
  const match = /^([^/]+)\/(\d{1,3})$/.exec(prefix.trim());
  const address = match?.[1] ?? '';
  const length = Number(match?.[2]);
  if (isIP(address) !== (family === 'ipv4' ? 4 : 6)) return false;
  if (length > (family === 'ipv4' ? 32 : 128)) return false;
  set.add(address, length, family);
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
