/**
 * The list of repositories (`/v2/_catalog`). A repository is a folder under `repositories/`
 * that holds `_layers`, as the reference registry decides (an upload that never finished
 * does not make one); names nest, so the walk goes on below a repository too, but never
 * into the `_` folders themselves.
 */
import type { StorageDriver } from '../drivers/driver.js';
import { orNull } from './links.js';
import { repositoriesRoot } from './paths.js';

const catalogMarkers: ReadonlySet<string> = new Set(['_layers']);

/**
 * Every repository name, sorted. `markers` are the folder names that make a folder a
 * repository: `_layers` for the catalog; maintenance also wants folders holding only uploads.
 */
export async function listRepositories(
  driver: StorageDriver,
  markers: ReadonlySet<string> = catalogMarkers,
): Promise<string[]> {
  const names: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const children = (await orNull(driver.list(dir))) ?? [];
    const bases = children.map((path) => path.slice(path.lastIndexOf('/') + 1));
    if (dir !== repositoriesRoot && bases.some((base) => markers.has(base))) {
      names.push(dir.slice(repositoriesRoot.length + 1));
    }
    const below = children.filter((_, i) => !(bases[i] ?? '_').startsWith('_'));
    await Promise.all(below.map(walk));
  };
  await walk(repositoriesRoot);
  return names.sort();
}
