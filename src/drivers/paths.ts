/**
 * Path rules shared by the drivers. The core validates paths before calling a driver, but
 * the contract makes every driver refuse a bad one too, so that a bug in the core can never
 * reach outside the storage root.
 */
import { InvalidPathError } from './driver.js';

/**
 * The reference registry's `storagedriver.PathRegexp`: one or more `/component` with only
 * `[A-Za-z0-9._-]` in each. Every path the registry builds (repository names, tags, digest
 * algorithms and hex, upload ids) fits it, so refusing other characters costs nothing.
 */
const PATH_RE = /^(?:\/[A-Za-z0-9._-]+)+$/;

/** A `.` or `..` component, which the reference's regexp lets through but we must not. */
const DOT_COMPONENT_RE = /\/\.{1,2}(?:\/|$)/;

/**
 * Throws `InvalidPathError` unless `path` is absolute, has no empty, `.` or `..` component
 * and only `[A-Za-z0-9._-]` characters. `allowRoot` admits `/` itself, which the reference
 * accepts for `stat` and `list` only.
 */
export function checkPath(path: string, driver: string, allowRoot = false): void {
  if (allowRoot && path === '/') return;
  if (!PATH_RE.test(path) || DOT_COMPONENT_RE.test(path)) {
    throw new InvalidPathError(path, driver);
  }
}

/** The driver path of `name` inside the directory `dir` (which may be `/`). */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Throws `InvalidPathError` when `listFrom`'s `startAfter` holds a `/`: it bounds names, and
 * a path there would compare differently on each driver.
 */
export function checkStartAfter(startAfter: string | undefined, driver: string): void {
  if (startAfter !== undefined && startAfter.includes('/')) {
    throw new InvalidPathError(startAfter, driver);
  }
}
