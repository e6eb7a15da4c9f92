/**
 * The list of repositories (`/v2/_catalog`). A repository is a folder under `repositories/`
 * that holds `_layers`, as the reference registry decides (an upload that never finished
 * does not make one); names nest, so the walk goes on below a repository too, but never
 * into the `_` folders themselves.
 *
 * Names stream in the catalog's order (ascending as strings), so a page reads only as far as
 * it shows, and memory stays bounded by the depth of the tree. That order is not a plain
 * depth-first walk's: `a-b` and `a.b` sort between `a` and `a/b`, since `-` and `.` come
 * before `/`. So a folder's own name is yielded when the walk meets it, but the names below
 * it wait on a stack until the siblings sorting before `<folder>/` are done. The stack holds
 * one entry per `-` or `.` run (`a`, `a-b`, `a-b-c`, ...), as each new entry sorts first.
 */
import type { StorageDriver } from '../drivers/driver.js';
import { baseName, childrenOrNone, inBatches } from './listing.js';
import { repositoriesRoot } from './paths.js';

/** The folder that makes a folder a repository for the catalog. */
export const catalogMarker = '_layers';

/** Folders inspected at once: the walk's reads in flight. */
const LOOKAHEAD = 16;

/** The code of `/`; `-` and `.`, the path characters below it, make names sort before it. */
const SLASH = 0x2f;

/** A path component as the drivers accept one (see `checkPath`): no `.` or `..` either. */
const COMPONENT_RE = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

/**
 * Repository names in ascending order, only those after `after` when it is given. `marker`
 * is the folder name that makes a folder a repository: `_layers` for the catalog, `_uploads`
 * for upload purging. Stop iterating at any time; no more is read.
 */
export function repositoryNames(
  driver: StorageDriver,
  marker: string = catalogMarker,
  after: string | null = null,
): AsyncGenerator<string> {
  return namesBelow(driver, repositoriesRoot, '', marker, after === '' ? null : after);
}

/** What one look into a folder tells the walk. */
interface FolderKind {
  /** It holds the marker. */
  repository: boolean;
  /** It holds something other than `_` folders, where repositories may nest. */
  nests: boolean;
}

/**
 * The names of the repositories below `dir`, whose names start with `prefix` (`''` or
 * `a/b/`), in order, after `after` (null when the whole subtree sorts after it).
 */
async function* namesBelow(
  driver: StorageDriver,
  dir: string,
  prefix: string,
  marker: string,
  after: string | null,
): AsyncGenerator<string> {
  // Children whose names below them are still to come; the top sorts first.
  const waiting: string[] = [];
  const descend = (name: string): AsyncGenerator<string> => {
    const sub = `${name}/`;
    return namesBelow(driver, `${repositoriesRoot}/${name}`, sub, marker, beyond(after, sub));
  };
  for await (const batch of inBatches(children(driver, dir, prefix, after), LOOKAHEAD)) {
    const names = batch.filter((name) => !whollyBefore(name, after));
    const kinds = await Promise.all(names.map((name) => inspect(driver, name, marker)));
    for (const [i, name] of names.entries()) {
      for (let top = waiting.at(-1); top !== undefined && `${top}/` < name; top = waiting.at(-1)) {
        waiting.pop();
        yield* descend(top);
      }
      const kind = kinds[i];
      if (kind?.repository === true && (after === null || name > after)) yield name;
      if (kind?.nests === true) waiting.push(name);
    }
  }
  for (let top = waiting.pop(); top !== undefined; top = waiting.pop()) yield* descend(top);
}

/**
 * The repository names (`prefix` + child) of the children of `dir` that are not `_` folders,
 * in order. With `after` inside this folder, the listing starts at the child `after` passes
 * through; before it come the prefixes of that child cut at a `-` or `.`, whose subtrees
 * sort after `after` although they do not.
 */
async function* children(
  driver: StorageDriver,
  dir: string,
  prefix: string,
  after: string | null,
): AsyncGenerator<string> {
  let startAfter: string | undefined;
  if (after?.startsWith(prefix) === true) {
    const first = after.slice(prefix.length).split('/', 1)[0] ?? '';
    for (let cut = 1; cut <= first.length; cut++) {
      if (cut < first.length && first.charCodeAt(cut) >= SLASH) continue;
      const candidate = first.slice(0, cut);
      if (COMPONENT_RE.test(candidate) && !candidate.startsWith('_')) yield prefix + candidate;
    }
    startAfter = first === '' ? undefined : first;
  }
  for await (const path of childrenOrNone(driver, dir, startAfter)) {
    const base = baseName(path);
    if (!base.startsWith('_')) yield prefix + base;
  }
}

/** Whether every name in the subtree of repository name `name` sorts at or before `after`. */
function whollyBefore(name: string, after: string | null): boolean {
  const sub = `${name}/`;
  return after !== null && sub < after && !after.startsWith(sub);
}

/** `after` for the subtree whose names start with `sub`: null when all of them sort after it. */
function beyond(after: string | null, sub: string): string | null {
  return after?.startsWith(sub) === true ? after : null;
}

/**
 * Reads the folder of repository name `name` from its start to its `_` folders, which sort
 * after digits and capitals and before lowercase letters: one listing in the usual case of
 * a repository with no repository below it. A file or a missing folder is neither.
 */
async function inspect(driver: StorageDriver, name: string, marker: string): Promise<FolderKind> {
  const dir = `${repositoriesRoot}/${name}`;
  const kind: FolderKind = { repository: false, nests: false };
  for await (const path of childrenOrNone(driver, dir)) {
    const base = baseName(path);
    if (base === marker) kind.repository = true;
    if (!base.startsWith('_')) {
      kind.nests = true;
      if (base > '_') break;
    }
  }
  return kind;
}
