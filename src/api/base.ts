/** `GET /v2/`: the API version check (OCI spec "Determining support"). */
import type { ApiReply } from './types.js';

/** Answers 200 with an empty JSON object: this registry speaks the V2 API. */
export function checkVersion(): ApiReply {
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' };
}
