/**
 * The route table of the Distribution API. Repository names contain slashes, so each path
 * is matched from its end: the last `/blobs/`, `/manifests/`, `/tags/list` decides, and
 * what stands before it is the name, checked against the name grammar before any handler
 * runs. The path is still percent-encoded here: a name never needs encoding, so an encoded
 * name (`%2e%2e`) fails the grammar like any other invalid name.
 */
import type { Access } from '../auth/types.js';
import { RegistryError } from '../errors/registry-error.js';
import { isValidName } from '../oci/names.js';
import { checkName } from '../oci/names.js';
import { checkVersion } from './base.js';
import { deleteBlob, getBlob } from './blobs.js';
import { listCatalog } from './catalog.js';
import type { ApiContext } from './context.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { listReferrersOf } from './referrers.js';
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
    pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
    methods: { GET: listReferrersOf },
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

/**
 * What a request needs on its repository, by method, as the reference registry maps it:
 * reads need `pull`, writes `pull` and `push`, deletes `delete`. A cross-repository mount
 * also needs `pull` on the source.
 */
function repositoryAccess(method: string, name: string, req: ApiRequest): Access[] {
  const actions =
    method === 'GET' || method === 'HEAD'
      ? ['pull']
      : method === 'DELETE'
        ? ['delete']
        : ['pull', 'push'];
  const access: Access[] = [{ type: 'repository', name, actions }];
  const from = req.query.get('from');
  if (method === 'POST' && req.query.has('mount') && from !== null && isValidName(from)) {
    if (from !== name) access.push({ type: 'repository', name: from, actions: ['pull'] });
  }
  return access;
}

/** Asks the access controller, when there is one, for what the request needs. */
async function authorize(ctx: ApiContext, req: ApiRequest, access: Access[]): Promise<void> {
  if (ctx.auth === null) return;
  const grant = await ctx.auth.authorize(req, access);
  req.log.debug({ subject: grant.subject }, 'authorized');
}

/** Finds and runs the handler for a request; throws RegistryError for anything refused. */
export async function dispatch(ctx: ApiContext, req: ApiRequest): Promise<ApiReply> {
  const { method, path } = req;
  if (path === '/v2/' || path === '/v2') {
    if (method !== 'GET' && method !== 'HEAD') throw notAllowed();
    // No resource: clients call this to learn whether and how to authenticate.
    await authorize(ctx, req, []);
    return checkVersion();
  }
  if (path === '/v2/_catalog') {
    if (method !== 'GET') throw notAllowed();
    await authorize(ctx, req, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    return listCatalog(ctx, req);
  }
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m === null) continue;
    const handler = route.methods[method];
    if (handler === undefined) throw notAllowed();
    const name = checkName(m[1] ?? '');
    await authorize(ctx, req, repositoryAccess(method, name, req));
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
