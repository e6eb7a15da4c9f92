/**
 * The `htpasswd` access controller (configuration.md, "htpasswd"): HTTP Basic credentials
 * (RFC 7617) checked against an Apache htpasswd file of bcrypt hashes. Like the reference,
 * it has no access lists: a valid user may do everything, and a missing file is created
 * with one generated user.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { HtpasswdAuthConfig } from '../config/types.js';
import { bcryptCompare, bcryptHash } from './bcrypt.js';
import { basicChallenge, MAX_AUTHORIZATION_BYTES, unauthorized } from './challenge.js';
import type { Access, AccessController, AuthRequest, Grant } from './types.js';

/** A bcrypt hash in modular crypt format; `$2y$` is what `htpasswd -B` writes. */
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** The user a created file holds, and the cost of its hash (htpasswd's and Go's default). */
const GENERATED_USER = 'admin';
const DEFAULT_COST = 10;

/** Users and their hashes as read from a file, plus the entries left out. */
export interface HtpasswdEntries {
  /** User name → bcrypt hash, `$2y$` rewritten to the equivalent `$2b$`. */
  users: Map<string, string>;
  /** Entries whose hash is not bcrypt (MD5, SHA-1, crypt, plain): ignored, as documented. */
  ignored: { line: number; user: string }[];
}

/**
 * Parses an htpasswd file as the reference does: one `user:hash` per line, split at the
 * first colon, surrounding blanks trimmed; empty lines and lines starting with `#` skipped;
 * a later line for the same user wins. Throws on a non-empty line without a colon, naming
 * its 1-based line number but not its content (which may be a password).
 */
export function parseHtpasswd(text: string): HtpasswdEntries {
  const entries: HtpasswdEntries = { users: new Map(), ignored: [] };
  const lines = text.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`invalid htpasswd entry at line ${index + 1}: no colon`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (BCRYPT_HASH.test(hash)) {
      entries.users.set(user, hash.replace(/^\$2y\$/, '$2b$'));
    } else {
      entries.ignored.push({ line: index + 1, user });
    }
  }
  return entries;
}

/** Credentials from an `Authorization: Basic` header. */
export interface BasicCredentials {
  user: string;
  /** The password as sent, bytes and all: no encoding is assumed. */
  password: Buffer;
  /** The decoded `user:password`, which identifies the pair for the cache. */
  raw: Buffer;
}

const basicHeader = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `Basic base64(user:password)` (RFC 7617 section 2). The pair splits at the first
 * colon, so passwords may contain colons; the user name must be non-empty UTF-8. Padding may
 * be left out. Returns undefined for anything else: another scheme, bad base64, no colon, an
 * empty user, or a header over {@link MAX_AUTHORIZATION_BYTES}.
 */
export function parseBasicAuthorization(header: string): BasicCredentials | undefined {
  if (header.length > MAX_AUTHORIZATION_BYTES) return undefined;
  const encoded = basicHeader.exec(header)?.[1];
  if (encoded === undefined || encoded.length % 4 === 1) return undefined;
  const raw = Buffer.from(encoded, 'base64');
  const colon = raw.indexOf(0x3a);
  if (colon <= 0) return undefined;
  try {
    return { user: utf8.decode(raw.subarray(0, colon)), password: raw.subarray(colon + 1), raw };
  } catch {
    return undefined;
  }
}

/** Tuning, for tests; the defaults are what the registry uses. */
export interface HtpasswdOptions {
  /** How often, at most, a request checks whether the file changed. Default 1000 ms. */
  recheckIntervalMs?: number;
  /** How long a successful check is remembered. Default 60 000 ms; 0 disables the cache. */
  cacheTtlMs?: number;
}

/** Bounds the memory of the credential cache; the oldest entry goes first. */
const MAX_CACHED = 1000;

/** One dummy hash per cost, made once per process: see {@link HtpasswdAccessController}. */
const dummyHashes = new Map<number, Promise<string>>();

function dummyHashFor(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    hash = bcryptHash(randomBytes(18).toString('base64'), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}

/** The cost most entries use, so that an unknown user costs what a known one does. */
function typicalCost(users: ReadonlyMap<string, string>): number {
  const counts = new Map<number, number>();
  for (const hash of users.values()) {
    const cost = Number(BCRYPT_HASH.exec(hash)?.[1] ?? DEFAULT_COST);
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = DEFAULT_COST;
  let bestCount = 0;
  for (const [cost, count] of counts) {
    if (count > bestCount || (count === bestCount && cost > best))
      [best, bestCount] = [cost, count];
  }
  return best;
}

/**
 * The htpasswd controller.
 *
 * Changes to the file apply without a restart: at most once per `recheckIntervalMs`, a
 * request stats the file and re-reads it when its inode, size or mtime changed. Polling on
 * use was chosen over `fs.watch`, which loses the file when it is replaced by a rename (as
 * editors, `htpasswd` itself and Kubernetes secret mounts do) and is unreliable on network
 * filesystems; a stat per second costs nothing by comparison. A file that cannot be read or
 * parsed on a re-read leaves the previous users in force and is logged once per change; one
 * that is invalid at start stops the registry, as in the reference.
 *
 * Passwords are checked with bcrypt off the main thread (see bcrypt.ts). An unknown user is
 * compared against a dummy hash of the cost most entries use, so that the time taken does
 * not tell which users exist.
 *
 * Clients send Basic credentials on every request, and a bcrypt check costs 50-100 ms of a
 * pool thread, so a successful check is remembered for `cacheTtlMs` (60 s) under an HMAC of
 * `user:password` with a per-process random key (a plain hash in memory would be cheaper to
 * brute-force than the bcrypt hash it stands for). The reference caches nothing; the cache
 * is emptied whenever the file changes, so a removed user or changed password takes effect
 * within a second. Failures are never cached, and concurrent checks of the same credentials
 * share one bcrypt run.
 */
export class HtpasswdAccessController implements AccessController {
  readonly name = 'htpasswd';
  readonly #realm: string;
  readonly #path: string;
  readonly #log: Logger;
  readonly #recheckMs: number;
  readonly #cacheTtlMs: number;
  readonly #cacheKey = randomBytes(32);
  readonly #cache = new Map<string, { user: string; expires: number }>();
  readonly #inflight = new Map<string, Promise<string | undefined>>();
  #users = new Map<string, string>();
  #dummyHash = '';
  /** Bumped on every reload, so that a check begun before it is not cached after it. */
  #generation = 0;
  #signature = '';
  #nextCheck = 0;
  #refreshing: Promise<void> | undefined;

  private constructor(
    config: Pick<HtpasswdAuthConfig, 'realm' | 'path'>,
    log: Logger,
    options: HtpasswdOptions,
  ) {
    this.#realm = config.realm;
    this.#path = config.path;
    this.#log = log;
    this.#recheckMs = options.recheckIntervalMs ?? 1000;
    this.#cacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  /**
   * Opens the file at `config.path`, creating it first when missing (parent directories
   * made, mode 0600) with user `admin` and a random password that is logged once, at warn:
   * the only credential Berth ever writes to a log, because the operator has no other way to
   * learn it. Rejects when the file cannot be created, read or parsed.
   */
  static async open(
    config: Pick<HtpasswdAuthConfig, 'realm' | 'path'>,
    log: Logger,
    options: HtpasswdOptions = {},
  ): Promise<HtpasswdAccessController> {
    const controller = new HtpasswdAccessController(config, log, options);
    await controller.#createIfMissing();
    const signature = await controller.#statSignature();
    try {
      await controller.#load(await readFile(config.path, 'utf8'));
    } catch (err) {
      throw new Error(`${config.path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    controller.#signature = signature;
    controller.#nextCheck = Date.now() + controller.#recheckMs;
    return controller;
  }

  /**
   * Grants everything to a user whose Basic credentials match the file (subject: the user
   * name). Missing, malformed or wrong credentials throw UNAUTHORIZED with
   * `Basic realm="..."`; htpasswd has no access lists, so it never throws DENIED.
   */
  async authorize(req: AuthRequest, access: Access[]): Promise<Grant> {
    const header = req.header('authorization');
    const credentials = header === undefined ? undefined : parseBasicAuthorization(header);
    if (credentials === undefined) {
      if (header !== undefined) this.#log.debug('basic credentials malformed');
      throw unauthorized(basicChallenge(this.#realm), access);
    }

    await this.#refreshIfDue();
    const user = await this.#check(credentials);
    if (user === undefined) {
      this.#log.info({ user: credentials.user }, 'basic authentication failed');
      throw unauthorized(basicChallenge(this.#realm), access);
    }
    return { subject: user };
  }

  async close(): Promise<void> {
    await this.#refreshing;
    this.#cache.clear();
  }

  async #check(credentials: BasicCredentials): Promise<string | undefined> {
    const key = createHmac('sha256', this.#cacheKey).update(credentials.raw).digest('base64');
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.expires > Date.now()) return cached.user;

    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#verify(credentials, key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #verify(credentials: BasicCredentials, key: string): Promise<string | undefined> {
    const generation = this.#generation;
    const hash = this.#users.get(credentials.user);
    const match = await bcryptCompare(credentials.password, hash ?? this.#dummyHash);
    if (!match || hash === undefined) return undefined;
    if (generation === this.#generation && this.#cacheTtlMs > 0) {
      this.#remember(key, credentials.user);
    }
    return credentials.user;
  }

  #remember(key: string, user: string): void {
    const now = Date.now();
    if (this.#cache.size >= MAX_CACHED) {
      for (const [k, entry] of this.#cache) if (entry.expires <= now) this.#cache.delete(k);
      const oldest = this.#cache.keys().next();
      if (this.#cache.size >= MAX_CACHED && oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(key, { user, expires: now + this.#cacheTtlMs });
  }

  async #refreshIfDue(): Promise<void> {
    if (Date.now() < this.#nextCheck) return;
    this.#nextCheck = Date.now() + this.#recheckMs;
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    await this.#refreshing;
  }

  /**
   * Never rejects. A file that disappears or no longer parses after start revokes everyone
   * until it is fixed (fails closed): an operator who deletes the file, or removes a user
   * and makes a typo elsewhere, must not leave the old users in.
   */
  async #refresh(): Promise<void> {
    let signature: string;
    try {
      signature = await this.#statSignature();
    } catch (err) {
      this.#reportReloadFailure('missing', err);
      return;
    }
    if (signature === this.#signature) return;
    try {
      await this.#load(await readFile(this.#path, 'utf8'));
      this.#log.info({ path: this.#path, users: this.#users.size }, 'htpasswd file reloaded');
    } catch (err) {
      this.#reportReloadFailure(signature, err);
      return;
    }
    this.#signature = signature;
  }

  #reportReloadFailure(signature: string, err: unknown): void {
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#users = new Map();
    this.#generation++;
    this.#cache.clear();
    this.#log.error(
      { path: this.#path, err: (err as NodeJS.ErrnoException).code ?? String(err) },
      'htpasswd file unreadable or invalid, every user refused until it is fixed',
    );
  }

  async #load(text: string): Promise<void> {
    const entries = parseHtpasswd(text);
    for (const { line, user } of entries.ignored) {
      this.#log.warn({ path: this.#path, line, user }, 'htpasswd entry ignored, not a bcrypt hash');
    }
    const dummyHash = await dummyHashFor(typicalCost(entries.users));
    this.#users = entries.users;
    this.#dummyHash = dummyHash;
    this.#generation++;
    this.#cache.clear();
  }

  async #statSignature(): Promise<string> {
    const info = await stat(this.#path, { bigint: true });
    return `${info.ino}:${info.size}:${info.mtimeNs}`;
  }

  async #createIfMissing(): Promise<void> {
    try {
      await stat(this.#path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }

    const password = randomBytes(24).toString('base64url');
    const hash = await bcryptHash(password, DEFAULT_COST);
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    try {
      await writeFile(this.#path, `${GENERATED_USER}:${hash}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another instance sharing the path created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw err;
    }
    // Not under `password`, which the logger redacts: this one line must show it.
    this.#log.warn(
      { path: this.#path, user: GENERATED_USER, generatedPassword: password },
      'htpasswd file missing, created with a generated password',
    );
  }
}
