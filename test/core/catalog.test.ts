/** The repository walk behind the catalog: order, `last`, and reading only what a page needs. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repositoryNames } from '../../src/core/catalog.js';
import { repositoriesRoot } from '../../src/core/paths.js';
import type { StorageDriver } from '../../src/drivers/driver.js';
import { FilesystemDriver } from '../../src/drivers/filesystem/index.js';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { RedirectingDriver } from '../../src/drivers/middleware/wrap.js';

/** Names where a plain depth-first walk and string order disagree (`-` and `.` before `/`). */
const repos = [
  'a',
  'a-b',
  'a-b/x',
  'a-b-c',
  'a.c',
  'a/b',
  'a/b-c',
  'a/b/c',
  'a0',
  'b/deep/er/name',
  'library/ubuntu',
  'my_app',
  'z9',
];
const sorted = [...repos].sort();

async function collect(names: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const name of names) out.push(name);
  return out;
}

/** A registry tree holding `repos`, an upload-only folder and a `_` folder at the top. */
async function seed(driver: StorageDriver): Promise<void> {
  for (const name of repos) {
    await driver.putContent(`${repositoriesRoot}/${name}/_layers/sha256/ab/link`, 'x');
    await driver.putContent(`${repositoriesRoot}/${name}/_manifests/tags/v1/current/link`, 'x');
  }
  await driver.putContent(`${repositoriesRoot}/b/only-uploads/_uploads/u1/data`, 'x');
  await driver.putContent(`${repositoriesRoot}/_junk/_layers/x`, 'x');
}

const makers: Array<[string, () => Promise<{ driver: StorageDriver; done: () => Promise<void> }>]> =
  [
    ['inmemory', async () => ({ driver: new InMemoryDriver(), done: async () => undefined })],
    [
      'filesystem',
      async () => {
        const root = await mkdtemp(join(tmpdir(), 'berth-catalog-'));
        return {
          driver: new FilesystemDriver({ rootdirectory: root }),
          done: () => rm(root, { recursive: true, force: true }),
        };
      },
    ],
  ];

for (const [driverName, make] of makers) {
  describe(`repository walk (${driverName})`, () => {
    test('yields every repository once, in string order, nested ones too', async () => {
      const { driver, done } = await make();
      try {
        await seed(driver);
        assert.deepEqual(await collect(repositoryNames(driver)), sorted);
        const withUploads = await collect(repositoryNames(driver, '_uploads'));
        assert.deepEqual(withUploads, ['b/only-uploads']);
      } finally {
        await done();
      }
    });

    test('after any name, existing or not, yields exactly the names sorting after it', async () => {
      const { driver, done } = await make();
      try {
        await seed(driver);
        const others = [
          '',
          '0',
          'a-',
          'a-b/',
          'a/',
          'a/b/',
          'a/b/c/d',
          'b',
          'zzz',
          '%bad/x',
          '.',
          '..',
          '../a',
          '..x',
          '-',
        ];
        for (const last of [...repos, ...others]) {
          const got = await collect(repositoryNames(driver, undefined, last));
          const want = sorted.filter((name) => last === '' || name > last);
          assert.deepEqual(got, want, `after ${JSON.stringify(last)}`);
        }
      } finally {
        await done();
      }
    });
  });
}

test('a page of 10 of 2000 repositories lists a few folders, not all of them', async () => {
  const base = new InMemoryDriver();
  for (let i = 0; i < 2000; i++) {
    await base.putContent(`${repositoriesRoot}/r${String(i).padStart(4, '0')}/_layers/x`, 'x');
  }
  let listings = 0;
  const counting = new RedirectingDriver(base, async () => null);
  counting.listFrom = (path, startAfter) => {
    listings++;
    return base.listFrom(path, startAfter);
  };
  const page: string[] = [];
  for await (const name of repositoryNames(counting, undefined, 'r1000')) {
    page.push(name);
    if (page.length === 11) break;
  }
  assert.deepEqual(
    page,
    Array.from({ length: 11 }, (_, i) => `r${1001 + i}`),
  );
  // The root, the candidate `r1000`, and one look into each repository of a lookahead batch.
  assert.ok(listings <= 2 + 2 * 16, `${listings} listings`);
});
