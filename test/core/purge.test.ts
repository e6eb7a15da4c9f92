import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { purgeUploads } from '../../src/core/purge.js';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';

const log = pino({ level: 'silent' });
const uploads = '/docker/registry/v2/repositories/team/app/_uploads';
const day = 24 * 3600 * 1000;

async function seed(): Promise<InMemoryDriver> {
  const driver = new InMemoryDriver();
  const now = Date.now();
  await driver.putContent(`${uploads}/old/startedat`, new Date(now - 8 * day).toISOString());
  await driver.putContent(`${uploads}/old/data`, 'abc');
  await driver.putContent(`${uploads}/new/startedat`, new Date(now - day).toISOString());
  await driver.putContent('/docker/registry/v2/repositories/team/app/_layers/x/link', 'x');
  return driver;
}

test('uploads older than the age are removed and younger ones kept', async () => {
  const driver = await seed();
  const purged = await purgeUploads(driver, { ageMs: 7 * day, dryRun: false }, log);
  assert.equal(purged, 1);
  const left = (await driver.list(uploads)).sort();
  assert.deepEqual(left, [`${uploads}/new`]);
});

test('a dry run counts old uploads but removes nothing', async () => {
  const driver = await seed();
  const purged = await purgeUploads(driver, { ageMs: 7 * day, dryRun: true }, log);
  assert.equal(purged, 1);
  assert.equal((await driver.list(uploads)).length, 2);
});

test('an upload folder without startedat is aged by its data', async () => {
  const driver = await seed();
  await driver.putContent(`${uploads}/orphan/data`, 'x');
  const later = Date.now() + 8 * day;
  const purged = await purgeUploads(driver, { ageMs: 7 * day, dryRun: false }, log, later);
  assert.equal(purged, 3);
});

test('old uploads of nested repositories are all purged while their folders are listed', async () => {
  const driver = new InMemoryDriver();
  const started = new Date(Date.now() - 8 * day).toISOString();
  const repos = ['team/app', 'team/app/sub', 'team/app-x', 'other'];
  for (const repo of repos) {
    for (let i = 0; i < 30; i++) {
      const folder = `/docker/registry/v2/repositories/${repo}/_uploads/u${String(i).padStart(2, '0')}`;
      await driver.putContent(`${folder}/startedat`, started);
    }
  }
  await driver.putContent('/docker/registry/v2/repositories/team/app/_layers/x/link', 'x');
  const purged = await purgeUploads(driver, { ageMs: 7 * day, dryRun: false }, log);
  assert.equal(purged, repos.length * 30);
  for (const repo of repos) {
    await assert.rejects(driver.stat(`/docker/registry/v2/repositories/${repo}/_uploads`), {
      name: 'PathNotFoundError',
    });
  }
});
