/** Picking free TCP ports on the loopback interface. */
import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1: binds port 0, reads the port, closes.
 *
 * The port may in theory be taken again before the caller binds it; the registry start
 * helpers fail loudly in that case.
 *
 * @returns A port number that was free a moment ago.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address: ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
