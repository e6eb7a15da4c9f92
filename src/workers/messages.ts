/**
 * The tasks the main thread sends to the worker pool and what comes back. Everything here
 * crosses a thread boundary by structured clone, so: plain data, errors as codes, and blob
 * bytes as transferred ArrayBuffers (moved, not copied).
 */
import type { ErrorCode } from '../errors/codes.js';
import type { DigestAlgorithm } from '../oci/digest.js';
import type { ManifestInfo } from '../oci/manifest.js';

/** Appends bytes to an upload, hashing them on the way. */
export interface AppendTask {
  kind: 'append';
  uploadId: string;
  /** Driver path of the upload's data file. */
  dataPath: string;
  /** The algorithm to hash with when the worker has no state for this upload yet. */
  algorithm: DigestAlgorithm;
  /** The offset the client says these bytes start at, or -1 to append wherever the end is. */
  expectedOffset: number;
  buffer: ArrayBuffer;
  length: number;
}

/** Finishes an upload: completes its digest in `algorithm` and makes its bytes durable. */
export interface FinishTask {
  kind: 'finish';
  uploadId: string;
  dataPath: string;
  algorithm: DigestAlgorithm;
  /** For drivers not shared across threads, the bytes the main thread holds; else -1. */
  storedSize: number;
}

/**
 * Closes an upload's writer at the end of a request, keeping its hash: for drivers that
 * buffer writes, so the acknowledged bytes reach storage.
 */
export interface ReleaseTask {
  kind: 'release';
  uploadId: string;
}

/** Forgets an upload's live state (after a cancel or a failed commit). */
export interface ForgetTask {
  kind: 'forget';
  uploadId: string;
}

/**
 * Seeds an upload's hash with the bytes already stored, for drivers the worker cannot read
 * (inmemory): the main thread sends them.
 */
export interface SeedTask {
  kind: 'seed';
  uploadId: string;
  algorithm: DigestAlgorithm;
  buffer: ArrayBuffer;
  length: number;
}

/** Checks a manifest body, computes its digest and (on shared drivers) stores its bytes. */
export interface ManifestTask {
  kind: 'manifest';
  bytes: Uint8Array;
  contentType: string | undefined;
  algorithm: DigestAlgorithm;
  /** Whether the worker writes the bytes as a blob (false for the inmemory driver). */
  store: boolean;
  /** `compatibility.schema1.enabled`: accept Docker schema 1 manifests. */
  schema1: boolean;
}

export type Task = AppendTask | FinishTask | ForgetTask | ReleaseTask | SeedTask | ManifestTask;

/** A failure the main thread turns into a registry error. */
export interface TaskFailure {
  ok: false;
  code: ErrorCode;
  /** Plain data for the client (never driver text for `UNKNOWN`: see failureToError). */
  detail: unknown;
  /** For offset mismatches: where the upload really ends. */
  offset?: number;
  /** The worker has no state for the upload and cannot read its bytes: seed it first. */
  needsSeed?: boolean;
  /** The append buffer, handed back for reuse. */
  buffer?: ArrayBuffer;
}

export interface AppendResult {
  ok: true;
  offset: number;
  /** The buffer, handed back for reuse by the main thread's pool. */
  buffer: ArrayBuffer;
}

export interface FinishResult {
  ok: true;
  digest: string;
  size: number;
}

export interface ManifestResult {
  ok: true;
  digest: string;
  info: ManifestInfo;
  /** For schema 1: the name and tag the manifest claims. */
  schema1?: { name: string; tag: string };
}

export interface DoneResult {
  ok: true;
}

export type TaskResult<T> = T | TaskFailure;

/**
 * How much nicer than the process the worker threads run: on Linux `setpriority` with no pid applies to the
 * calling thread only, so blob hashing and writing yield the CPU to the main thread and the
 * gateway. Measured with four 256 MiB uploads on two cores: manifest GET p50 90-400 ms ->
 * 5-10 ms, with the same upload throughput.
 */
export const WORKER_NICE = 10;
