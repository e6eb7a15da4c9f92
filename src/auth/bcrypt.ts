/**
 * The `bcrypt` native binding, typed, with a bound on how many hashes run at once.
 *
 * bcrypt's async functions run on libuv's thread pool, off the main thread. That pool
 * (4 threads unless UV_THREADPOOL_SIZE says otherwise) also serves every asynchronous file
 * operation of the filesystem driver, and one comparison at cost 10 holds a thread for
 * 50-100 ms: without a bound, a burst of logins (or a password-guessing client) would stall
 * blob reads and writes behind it. At most {@link MAX_CONCURRENT_HASHES} run at once; the
 * rest wait their turn in arrival order.
 */
import { createRequire } from 'node:module';

interface BcryptBinding {
  hash(data: string | Buffer, rounds: number): Promise<string>;
  compare(data: string | Buffer, encrypted: string): Promise<boolean>;
}

// The package ships no type declarations; this is the part of its API Berth uses.
const binding = createRequire(import.meta.url)('bcrypt') as BcryptBinding;

/** Half the default thread pool, leaving the other half to file I/O. */
export const MAX_CONCURRENT_HASHES = 2;

let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) {
    // The finishing call hands its slot over, so `running` is not incremented here.
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running++;
  }
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next();
  }
}

/**
 * Whether `password` matches the bcrypt `hash` (`$2a$`, `$2b$`; `$2y$` must have been
 * rewritten to `$2b$`, which names the same algorithm). Resolves false, never rejects, for
 * a malformed hash. The password is compared as bytes; like every bcrypt, only its first
 * 72 bytes count.
 */
export async function bcryptCompare(password: Buffer, hash: string): Promise<boolean> {
  return withSlot(() => binding.compare(password, hash));
}

/** A new `$2b$` hash of `password` at `cost` (4-31). */
export async function bcryptHash(password: string, cost: number): Promise<string> {
  return withSlot(() => binding.hash(password, cost));
}
