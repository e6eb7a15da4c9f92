/**
 * `GET /v2/<name>/tags/list` (OCI spec "Listing Tags", end-8a/8b; Docker API "Pagination"),
 * against both drivers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  drivers,
  makeImage,
  ociManifestType,
  pushBlob,
  pushManifest,
  startTestRegistry,
  type DriverName,
  type TestRegistry,
} from '../helpers/server.js';
import { runRow, send, type Row } from './table.js';

const repo = 'tags/list';
/** Pushed in this order; listed in ASCII order. */
const pushed = ['v2', 'latest', 'A', '1.0', 'b', 'v1', 'B_x'];
const sorted = [...pushed].sort();

const nextLink = (n: number, last: string): string =>
  `</v2/${repo}/tags/list?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;

function listed(tags: string[], name = repo): string {
  return JSON.stringify({ name, tags });
}

const rows: Row<TestRegistry>[] = [
  {
    name: 'the tag list answers 200 with every tag in ASCII order as JSON',
    request: { path: `/v2/${repo}/tags/list` },
    expect: {
      status: 200,
      headers: { 'Content-Type': /^application\/json/, Link: null },
      body: listed(sorted),
    },
  },
  {
    name: 'n=2 answers the first two tags and a Link to the next page',
    request: { path: `/v2/${repo}/tags/list?n=2` },
    expect: { status: 200, body: listed(sorted.slice(0, 2)), headers: { Link: nextLink(2, 'A') } },
  },
  {
    name: 'n=2&last=A answers the two tags after A and a Link onwards',
    request: { path: `/v2/${repo}/tags/list?n=2&last=A` },
    expect: { status: 200, body: listed(['B_x', 'b']), headers: { Link: nextLink(2, 'b') } },
  },
  {
    name: 'last alone answers every tag after it, without a Link',
    request: { path: `/v2/${repo}/tags/list?last=latest` },
    expect: { status: 200, body: listed(['v1', 'v2']), headers: { Link: null } },
  },
  {
    name: 'last that is not a tag answers the tags that sort after it',
    request: { path: `/v2/${repo}/tags/list?last=c` },
    expect: { status: 200, body: listed(['latest', 'v1', 'v2']) },
  },
  {
    name: 'last after every tag answers an empty list',
    request: { path: `/v2/${repo}/tags/list?last=zzz` },
    expect: { status: 200, body: listed([]), headers: { Link: null } },
  },
  {
    name: 'n equal to the number of tags answers them all without a Link',
    request: { path: `/v2/${repo}/tags/list?n=${pushed.length}` },
    expect: { status: 200, body: listed(sorted), headers: { Link: null } },
  },
  {
    name: 'n larger than the number of tags answers them all without a Link',
    request: { path: `/v2/${repo}/tags/list?n=1000` },
    expect: { status: 200, body: listed(sorted), headers: { Link: null } },
  },
  {
    name: 'n=0 answers an empty list and no Link header',
    request: { path: `/v2/${repo}/tags/list?n=0` },
    expect: { status: 200, body: listed([]), headers: { Link: null } },
  },
  {
    name: 'n=-1 answers 400 PAGINATION_NUMBER_INVALID',
    request: { path: `/v2/${repo}/tags/list?n=-1` },
    expect: { status: 400, code: 'PAGINATION_NUMBER_INVALID' },
  },
  {
    name: 'n=abc answers 400 PAGINATION_NUMBER_INVALID',
    request: { path: `/v2/${repo}/tags/list?n=abc` },
    expect: { status: 400, code: 'PAGINATION_NUMBER_INVALID' },
  },
  {
    name: 'n=1.5 answers 400 PAGINATION_NUMBER_INVALID',
    request: { path: `/v2/${repo}/tags/list?n=1.5` },
    expect: { status: 400, code: 'PAGINATION_NUMBER_INVALID' },
  },
  {
    name: 'the tag list of a repository that does not exist answers 404 NAME_UNKNOWN',
    request: { path: '/v2/tags/nowhere/tags/list' },
    expect: { status: 404, code: 'NAME_UNKNOWN' },
  },
  {
    name: 'a repository holding blobs but no tags answers 200 with an empty list',
    request: { path: '/v2/tags/untagged/tags/list' },
    expect: { status: 200, body: listed([], 'tags/untagged') },
  },
];

function suite(driver: DriverName): void {
  describe(`tag list (${driver})`, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await startTestRegistry({ driver });
      const image = await makeImage(reg.url, repo, pushed[0] ?? 'v2');
      for (const tag of pushed.slice(1)) {
        await pushManifest(reg.url, repo, tag, image.manifestBytes, ociManifestType);
      }
      await pushBlob(reg.url, 'tags/untagged', 'a blob and nothing else');
    });
    after(() => reg?.stop());

    for (const row of rows) {
      test(row.name, async () => {
        await runRow(reg.url, reg, row);
      });
    }

    test('following Link from n=3 visits every tag once, in order', async () => {
      const seen: string[] = [];
      let path: string | null = `/v2/${repo}/tags/list?n=3`;
      for (let pages = 0; path !== null; pages++) {
        assert.ok(pages < 10, 'too many pages');
        const reply = await send(reg.url, { path });
        assert.equal(reply.status, 200);
        seen.push(...(JSON.parse(reply.body.toString()) as { tags: string[] }).tags);
        const link = reply.header('link');
        path = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? 'bad link');
      }
      assert.deepEqual(seen, sorted);
    });
  });
}

for (const driver of drivers) suite(driver);
