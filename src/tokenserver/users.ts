/**
 * The token server's users: an htpasswd file of bcrypt entries (`user:$2y$...`), the only
 * format the reference registry accepts. The file is re-read when it changes, so adding or
 * removing a user takes effect without a restart and revokes that user's refresh tokens.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { ReloadingFile } from './reloading-file.js';

/** The part of the `bcrypt` package used here; it ships no type declarations. */
interface Bcrypt {
  compare(data: string, encrypted: string): Promise<boolean>;
}

const bcrypt = createRequire(import.meta.url)('bcrypt') as Bcrypt;

/**
 * Compared against when the user does not exist, so that an unknown name costs as much
 * time as a wrong password and response times do not reveal which users exist.
 */
const dummyHash = '$2b$10$tyJ5/ZGIrqt8nrg9mgysouABqvdcxAOwBdpkt68N5pONe3YJTF5za';

/** Users and their bcrypt hashes, and the lines that were not usable entries. */
export interface Htpasswd {
  users: Map<string, string>;
  /** 1-based numbers of lines skipped because they are not `user:bcrypt-hash`. */
  skipped: number[];
}

/**
 * Parses htpasswd text. Empty lines and `#` comments are ignored; other lines that are not
 * `user:bcrypt-hash` are skipped and reported, since MD5, SHA-1 and crypt entries are
 * refused by the reference registry too.
 */
export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  const skipped: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      skipped.push(i + 1);
      return;
    }
    // $2y$ (PHP, Apache htpasswd -B) is the same algorithm as $2b$, which is the only
    // spelling of it the bcrypt package understands.
    users.set(line.slice(0, colon), hash.replace(/^\$2y\$/, '$2b$'));
  });
  return { users, skipped };
}

/** The users of an htpasswd file, kept current with the file. */
export class UserStore {
  readonly #file: ReloadingFile<Map<string, string>>;

  private constructor(file: ReloadingFile<Map<string, string>>) {
    this.#file = file;
  }

  /**
   * Opens the htpasswd file.
   *
   * @throws Error when the file cannot be read at start (later read failures keep the
   *   users last read, and are logged).
   */
  static async open(path: string, log: Logger): Promise<UserStore> {
    const parse = (text: string, file: string): Map<string, string> => {
      const { users, skipped } = parseHtpasswd(text);
      if (skipped.length > 0) log.warn({ file, lines: skipped }, 'htpasswd lines skipped');
      return users;
    };
    return new UserStore(await ReloadingFile.open(path, parse, log));
  }

  /** Resolves true when `password` is the user's; bcrypt runs on libuv's thread pool. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = (await this.#file.current()).get(user);
    const ok = await bcrypt.compare(password, hash ?? dummyHash);
    return ok && hash !== undefined;
  }

  /**
   * A short fingerprint of the user's current htpasswd entry, or null when the user no
   * longer exists. Refresh tokens carry it, so removing the user or changing the password
   * makes them useless.
   */
  async fingerprint(user: string): Promise<string | null> {
    const hash = (await this.#file.current()).get(user);
    if (hash === undefined) return null;
    return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
  }
}
