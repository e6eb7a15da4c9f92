/**
 * Resource scopes as clients request them and as tokens grant them (spec/auth/scope.md,
 * "Resource Scope Grammar"): `type[(class)]:name:action[,action]*`.
 */

/** One requested or granted resource scope. */
export interface ResourceScope {
  /** Resource type without its class: `repository`, `registry`. */
  type: string;
  /** The class in `repository(plugin)`; absent when the scope names none. */
  class?: string;
  /** Resource name; for a repository it may start with `host:port/`. */
  name: string;
  /** Actions, in request order, without duplicates or empty entries. */
  actions: string[];
}

/** A scope string that does not follow the grammar of scope.md. */
export class ScopeError extends Error {
  constructor(readonly scope: string) {
    super(`invalid scope ${JSON.stringify(scope)}`);
    this.name = 'ScopeError';
  }
}

const typeGrammar = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const actionGrammar = /^[a-z*]*$/;
const hostComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const pathComponent = '[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*';
const repositoryName = new RegExp(
  `^(?:${hostComponent}(?:\\.${hostComponent})*(?::[0-9]+)?/)?` +
    `${pathComponent}(?:/${pathComponent})*$`,
);
const otherName = /^[^\s:]+$/;

/**
 * Parses one resource scope. The name is everything between the first and the last colon:
 * scope.md warns that a repository name may hold one colon of its own, a registry port
 * (`repository:localhost:5000/app:pull`).
 *
 * Actions are kept as written (`*` included) minus empty ones, so `repository:app:` is a
 * valid scope asking for nothing.
 *
 * @throws ScopeError when the type, name or an action breaks the grammar.
 */
export function parseScope(text: string): ResourceScope {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) throw new ScopeError(text);
  const typeMatch = typeGrammar.exec(text.slice(0, first));
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(',');
  if (typeMatch?.[1] === undefined) throw new ScopeError(text);
  const type = typeMatch[1];
  const nameGrammar = type === 'repository' ? repositoryName : otherName;
  if (!nameGrammar.test(name) || name.length > 255) throw new ScopeError(text);
  if (!actions.every((a) => actionGrammar.test(a))) throw new ScopeError(text);

  const scope: ResourceScope = { type, name, actions: unique(actions.filter((a) => a !== '')) };
  if (typeMatch[2] !== undefined) scope.class = typeMatch[2];
  return scope;
}

/**
 * Parses the `scope` values of a token request. GET sends one parameter per scope and
 * POST one space-separated list (scope.md, "Authorization Server Use"); both forms, and a
 * mix, are accepted. Scopes naming the same resource are merged into one entry.
 *
 * @throws ScopeError for the first malformed scope.
 */
export function parseScopes(values: readonly string[]): ResourceScope[] {
  const merged = new Map<string, ResourceScope>();
  for (const value of values) {
    for (const text of value.split(' ')) {
      if (text === '') continue;
      const scope = parseScope(text);
      const key = `${scopeType(scope)}:${scope.name}`;
      const seen = merged.get(key);
      if (seen === undefined) merged.set(key, scope);
      else seen.actions = unique([...seen.actions, ...scope.actions]);
    }
  }
  return [...merged.values()];
}

/** The type as written in a scope string: `repository` or `repository(plugin)`. */
export function scopeType(scope: ResourceScope): string {
  return scope.class === undefined ? scope.type : `${scope.type}(${scope.class})`;
}

/**
 * Formats granted scopes for the `scope` field of an OAuth2 answer (oauth.md): one
 * space-separated entry per resource that was granted at least one action.
 */
export function formatScopes(scopes: readonly ResourceScope[]): string {
  return scopes
    .filter((s) => s.actions.length > 0)
    .map((s) => `${scopeType(s)}:${s.name}:${s.actions.join(',')}`)
    .join(' ');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
