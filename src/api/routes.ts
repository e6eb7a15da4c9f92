/**
 * The route table of the Distribution API. Repository names contain slashes, so each path
 * is matched from its end: the last `/blobs/`, `/manifests/`, `/tags/list` decides, and
 * what stands before it is the name, checked against the name grammar before any handler
 * runs. The path is still percent-encoded here: a name never needs encoding, so an encoded
 * name (`%2e%2e`) fails the grammar like any other invalid name.
 */
import { RegistryError } from '../errors/registry-error.js';
import { checkName } from '../oci/names.js';
import { checkVersion } from './base.js';
import { deleteBlob, getBlob } from './blobs.js';
import { listCatalog } from './catalog.js';
import type { ApiContext } from './context.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { listTags } from './tags.js';
import type { ApiReply, ApiRequest } from './types.js';
import {
  cancelUpload,
  completeUpload,
  getUploadStatus,
  patchUpload,
  startUpload,
} from './uploads.js';

type Handler = (ctx: ApiContext, req: ApiRequest, name: string, param: string) => Promise<ApiReply>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

const routes: Route[] = [
  {
    pattern: /^\/v2\/(.+)\/tags\/list$/,
    methods: { GET: (ctx, req, name) => listTags(ctx, req, name) },
  },
  {
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
    methods: { POST: (ctx, req, name) => startUpload(ctx, req, name) },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: {
      GET: getUploadStatus,
      PATCH: patchUpload,
      PUT: completeUpload,
      DELETE: cancelUpload,
    },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  },
];

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Finds and runs the handler for a request; throws RegistryError for anything refused. */
export async function dispatch(ctx: ApiContext, req: ApiRequest): Promise<ApiReply> {
  const { method, path } = req;
  if (path === '/v2/' || path === '/v2') {
    if (method !== 'GET' && method !== 'HEAD') throw notAllowed();
    return checkVersion();
  }
  if (path === '/v2/_catalog') {
    if (method !== 'GET') throw notAllowed();
    return listCatalog(ctx, req);
  }
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m === null) continue;
    const handler = route.methods[method];
    if (handler === undefined) throw notAllowed();
    const name = checkName(m[1] ?? '');
    if (ctx.readOnly && writeMethods.has(method)) {
      throw new RegistryError('UNSUPPORTED', 'registry is in read-only mode');
    }
    return handler(ctx, req, name, m[2] ?? '');
  }
  throw new RegistryError('NAME_UNKNOWN', 'no such endpoint', 404);
}

function notAllowed(): RegistryError {
  return new RegistryError('UNSUPPORTED', 'method not allowed on this endpoint');
}
