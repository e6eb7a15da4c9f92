/** `GET /v2/_catalog` (Docker API "Listing Repositories"), against both drivers. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  drivers,
  makeImage,
  startTestRegistry,
  type DriverName,
  type TestRegistry,
} from '../helpers/server.js';
import { runRow, send, type Row } from './table.js';

/** Nested names, one of them a prefix of others; listed in ASCII order. */
const repos = ['z9', 'a/b/c', 'c/b', 'a', 'a/b', 'a-b', 'library/ubuntu'];
const sorted = [...repos].sort();

const listed = (names: string[]): string => JSON.stringify({ repositories: names });

const rows: Row<TestRegistry>[] = [
  {
    name: 'the catalog answers 200 with every repository, nested ones too, in ASCII order',
    request: { path: '/v2/_catalog' },
    expect: {
      status: 200,
      headers: { 'Content-Type': /^application\/json/, Link: null },
      body: listed(sorted),
    },
  },
  {
    name: 'n=2 answers the first two repositories and a Link to the next page',
    request: { path: '/v2/_catalog?n=2' },
    expect: {
      status: 200,
      body: listed(sorted.slice(0, 2)),
      headers: {
        Link: `</v2/_catalog?n=2&last=${encodeURIComponent(sorted[1] ?? '')}>; rel="next"`,
      },
    },
  },
  {
    name: 'n=2&last=a/b answers the two repositories after a/b',
    request: { path: '/v2/_catalog?n=2&last=a/b' },
    expect: { status: 200, body: listed(['a/b/c', 'c/b']), headers: { Link: /rel="next"/ } },
  },
  {
    name: 'n=0 answers an empty list and no Link',
    request: { path: '/v2/_catalog?n=0' },
    expect: { status: 200, body: listed([]), headers: { Link: null } },
  },
  {
    name: 'n=-1 answers 400 PAGINATION_NUMBER_INVALID',
    request: { path: '/v2/_catalog?n=-1' },
    expect: { status: 400, code: 'PAGINATION_NUMBER_INVALID' },
  },
  {
    name: 'n=abc answers 400 PAGINATION_NUMBER_INVALID',
    request: { path: '/v2/_catalog?n=abc' },
    expect: { status: 400, code: 'PAGINATION_NUMBER_INVALID' },
  },
];

function suite(driver: DriverName): void {
  describe(`catalog (${driver})`, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await startTestRegistry({ driver });
      for (const repo of repos) await makeImage(reg.url, repo, 'latest', { layers: 0 });
    });
    after(() => reg?.stop());

    for (const row of rows) {
      test(row.name, async () => {
        await runRow(reg.url, reg, row);
      });
    }

    test('following Link from n=2 visits every repository once, in order', async () => {
      const seen: string[] = [];
      let path: string | null = '/v2/_catalog?n=2';
      for (let pages = 0; path !== null; pages++) {
        assert.ok(pages < 10, 'too many pages');
        const reply = await send(reg.url, { path });
        assert.equal(reply.status, 200);
        const page = JSON.parse(reply.body.toString()) as { repositories: string[] };
        seen.push(...page.repositories);
        const link = reply.header('link');
        path = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? 'bad link');
      }
      assert.deepEqual(seen, sorted);
    });

    test('an empty registry answers an empty catalog', async () => {
      const empty = await startTestRegistry({ driver });
      try {
        const reply = await send(empty.url, { path: '/v2/_catalog' });
        assert.equal(reply.status, 200);
        assert.deepEqual(JSON.parse(reply.body.toString()), { repositories: [] });
      } finally {
        await empty.stop();
      }
    });
  });
}

for (const driver of drivers) suite(driver);
