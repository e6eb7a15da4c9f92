/**
 * A file read into a value and re-read whenever it changes on disk, checked on use (one
 * `stat` per token request, no watcher to leak). Edits to the htpasswd and ACL files thus
 * take effect on the next request without a restart.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';

/** What identifies one version of a file; any change triggers a re-read. */
function versionOf(s: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** The parsed content of a file, kept current with the file. */
export class ReloadingFile<T> {
  readonly #file: string;
  readonly #parse: (text: string, file: string) => T;
  readonly #log: Logger;
  #value: T;
  #version: string;

  private constructor(
    file: string,
    parse: (text: string, file: string) => T,
    log: Logger,
    value: T,
    version: string,
  ) {
    this.#file = file;
    this.#parse = parse;
    this.#log = log;
    this.#value = value;
    this.#version = version;
  }

  /**
   * Reads and parses the file.
   *
   * @param parse - Turns the text into the value; throws when the text is unusable.
   * @throws whatever reading or `parse` throws: a bad file at start is fatal.
   */
  static async open<T>(
    file: string,
    parse: (text: string, file: string) => T,
    log: Logger,
  ): Promise<ReloadingFile<T>> {
    const version = versionOf(await stat(file, { bigint: true }));
    const value = parse(await readFile(file, 'utf8'), file);
    return new ReloadingFile(file, parse, log, value, version);
  }

  /**
   * The value for the file as it is now. When a changed file cannot be read or parsed,
   * the last good value stays in use and the problem is logged: a file caught half-written
   * must not lock everyone out.
   */
  async current(): Promise<T> {
    let version: string;
    try {
      version = versionOf(await stat(this.#file, { bigint: true }));
      if (version === this.#version) return this.#value;
      this.#version = version;
      this.#value = this.#parse(await readFile(this.#file, 'utf8'), this.#file);
      this.#log.info({ file: this.#file }, 'file reloaded');
    } catch (err) {
      this.#log.error({ err, file: this.#file }, 'file unusable; keeping the last good version');
    }
    return this.#value;
  }
}
