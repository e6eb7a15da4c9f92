/**
 * The worker of the round-trip benchmark: sends every ArrayBuffer straight back, moved when
 * it came moved, so the message cost is the only work measured.
 */
import { parentPort } from 'node:worker_threads';

interface Trip {
  buffer: ArrayBuffer;
  transfer: boolean;
}

parentPort?.on('message', (trip: Trip) => {
  parentPort?.postMessage(trip, trip.transfer ? [trip.buffer] : []);
});
