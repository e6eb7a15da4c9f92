/**
 * Sorted tag lists kept between requests, each checked against its folder's modification
 * time before it is served.
 *
 * A tags list reads the whole `_manifests/tags/` folder and sorts it: about 1 ms of CPU for
 * 1 000 tags, for every page a client asks for. Adding or removing a tag adds or removes a
 * child folder of `tags/`, and on a POSIX file system that sets the folder's modification
 * time; a `stat` (a few microseconds) then tells whether a kept list is still the folder's.
 * Drivers whose folders have no such time (object stores) say so (`folderTimes`), and get
 * no cache.
 *
 * The one trap is a change within the clock tick of the time the list was checked against:
 * two changes inside one tick leave the same time. So a list is kept only when the folder's
 * time was already `SETTLED_MS` old when the list was read (git's "racily clean" rule). Any
 * change after that read stamps a later time, which differs, however coarse the clock (a
 * clock stepped back by more than `SETTLED_MS` meanwhile could defeat this). Network file
 * systems are left out by the filesystem driver: their clients answer `stat` from a cache.
 */

/** How old a folder's time must be before a list read under it is kept. */
export const SETTLED_MS = 2_000;

/** Tags kept in all, across repositories; the least recently used lists go first. */
const LIMIT_TAGS = 500_000;

interface Entry {
  modTime: number;
  tags: string[];
}

export class TagListCache {
  readonly #entries = new Map<string, Entry>();
  #tags = 0;

  constructor(readonly limitTags = LIMIT_TAGS) {}

  /** The list kept for `name` if its folder's time is still `modTime`. */
  get(name: string, modTime: number): string[] | undefined {
    const entry = this.#entries.get(name);
    if (entry === undefined) return undefined;
    if (entry.modTime !== modTime) {
      this.forget(name);
      return undefined;
    }
    // Most recently used last, so eviction takes from the front.
    this.#entries.delete(name);
    this.#entries.set(name, entry);
    return entry.tags;
  }

  /**
   * Keeps `tags`, read after a `stat` that gave `modTime` at `statAt` (both in ms), when the
   * folder had settled by then.
   */
  set(name: string, modTime: number, statAt: number, tags: string[]): void {
    this.forget(name);
    if (statAt - modTime < SETTLED_MS || tags.length > this.limitTags) return;
    while (this.#tags + tags.length > this.limitTags) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
    this.#entries.set(name, { modTime, tags });
    this.#tags += tags.length;
  }

  /** Drops what is kept for `name` (this process changed its tags). */
  forget(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#entries.delete(name);
    this.#tags -= entry.tags.length;
  }
}
