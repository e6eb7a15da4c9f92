/**
 * Clients that leave before their blob GET is answered: the blob was opened for a reply
 * that is never sent, and its file must still be closed. (Found by the benchmark: the read
 * size, which shrinks with the number of open readers, stayed small after cells whose
 * clients were cut off mid-request, and descriptors stayed open with it.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { openFilesUnder } from '../helpers/open-files.js';
import { pushBlob, startTestRegistry, type TestRegistry } from '../helpers/server.js';

let registry: TestRegistry;
before(async () => {
  registry = await startTestRegistry();
});
after(() => registry.stop());

/** Sends a GET and closes the connection as soon as the request is written. */
function getAndLeave(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.on('error', () => resolve());
  });
}

test('a blob GET whose client leaves before the answer closes the blob file', async () => {
  const blob = randomBytes(4 << 20);
  const digest = await pushBlob(registry.url, 'left/early', blob);
  const port = registry.port;
  const path = `/v2/left/early/blobs/${digest}`;
  for (let round = 0; round < 10; round++) {
    await Promise.all(Array.from({ length: 50 }, () => getAndLeave(port, path)));
  }
  // Let the registry see every connection go and finish what it had started.
  let open: string[] = [];
  for (let wait = 0; wait < 40; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    open = await openFilesUnder(registry.root);
    if (open.length === 0) break;
  }
  assert.deepEqual(open, []);
  // And the blob still reads whole.
  const res = await fetch(`${registry.url}${path}`);
  assert.equal(Buffer.compare(Buffer.from(await res.arrayBuffer()), blob), 0);
});
