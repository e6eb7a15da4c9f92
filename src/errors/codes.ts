/**
 * The error codes of the Distribution API, with the message and HTTP status the specs give
 * them (OCI distribution spec "Error Codes"; Docker Registry HTTP API V2 "Errors"). The
 * names are the spec's to the letter: clients match on them.
 */
export const errorCodes = {
  BLOB_UNKNOWN: { message: 'blob unknown to registry', status: 404 },
  BLOB_UPLOAD_INVALID: { message: 'blob upload invalid', status: 400 },
  BLOB_UPLOAD_UNKNOWN: { message: 'blob upload unknown to registry', status: 404 },
  DIGEST_INVALID: { message: 'provided digest did not match uploaded content', status: 400 },
  MANIFEST_BLOB_UNKNOWN: {
    message: 'manifest references a manifest or blob unknown to registry',
    status: 400,
  },
  MANIFEST_INVALID: { message: 'manifest invalid', status: 400 },
  MANIFEST_UNKNOWN: { message: 'manifest unknown to registry', status: 404 },
  MANIFEST_UNVERIFIED: { message: 'manifest failed signature verification', status: 400 },
  NAME_INVALID: { message: 'invalid repository name', status: 400 },
  NAME_UNKNOWN: { message: 'repository name not known to registry', status: 404 },
  PAGINATION_NUMBER_INVALID: { message: 'invalid number of results requested', status: 400 },
  RANGE_INVALID: { message: 'invalid content range', status: 416 },
  SIZE_INVALID: { message: 'provided length did not match content length', status: 400 },
  TAG_INVALID: { message: 'manifest tag did not match URI', status: 400 },
  UNAUTHORIZED: { message: 'authentication required', status: 401 },
  DENIED: { message: 'requested access to the resource is denied', status: 403 },
  UNSUPPORTED: { message: 'the operation is unsupported', status: 405 },
  TOOMANYREQUESTS: { message: 'too many requests', status: 429 },
  UNKNOWN: { message: 'unknown error', status: 500 },
  UNAVAILABLE: { message: 'service unavailable', status: 503 },
} as const satisfies Record<string, { message: string; status: number }>;

/** One of the spec's error code names. */
export type ErrorCode = keyof typeof errorCodes;
