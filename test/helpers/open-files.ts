/** Descriptors of this test process (where in-process registries run), for leak checks. */
import { readdir, readlink } from 'node:fs/promises';

/** The files under `root` this process holds open (a deleted one ends in ` (deleted)`). */
export async function openFilesUnder(root: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(root)) open.push(target);
  }
  return open;
}
