/**
 * The token server's access control list: which subjects may do what on which resources.
 *
 * ```yaml
 * groups:
 *   admins: [alice]
 * rules:
 *   - subject: group:admins          # or user:NAME, anonymous, '*', or a list of these
 *     repository: '**'               # glob: '*' within one path component, '**' across
 *     actions: ['*']
 *   - subject: anonymous
 *     repository: public/*
 *     actions: [pull]
 *   - subject: '*'
 *     registry: catalog
 *     actions: ['*']
 * ```
 *
 * Rules only grant; what a subject may do is the union of every rule that applies to it.
 * `anonymous` rules apply to every request, with credentials or without, so that logging
 * in never loses access a client had without. `*` applies to every authenticated user.
 */
import { z } from 'zod';
import type { ResourceScope } from './scope.js';
import { parseYamlWith, readYamlWith, TokenServerConfigError } from './yaml-file.js';

/** The actions a repository scope can name (spec/auth/scope.md). */
const repositoryActions: ReadonlySet<string> = new Set(['pull', 'push', 'delete', '*']);

const actionName = z
  .string()
  .regex(/^(?:[a-z]+|\*)$/, 'expected an action such as pull, push, delete or *');
const subjectName = z
  .string()
  .regex(/^(?:user:.+|group:.+|anonymous|\*)$/, "expected user:NAME, group:NAME, anonymous or '*'");

const ruleSchema = z
  .object({
    subject: z.union([subjectName, z.array(subjectName).min(1)]),
    repository: z.string().min(1).optional(),
    registry: z.string().min(1).optional(),
    actions: z.array(actionName).min(1),
  })
  .strict()
  .refine((r) => (r.repository === undefined) !== (r.registry === undefined), {
    error: 'a rule names exactly one of repository or registry',
  });

const aclSchema = z
  .object({
    groups: z.record(z.string(), z.array(z.string().min(1))).optional(),
    rules: z.array(ruleSchema).optional(),
  })
  .strict();

interface Rule {
  subjects: string[];
  /** `repository` also covers typed repositories such as `repository(plugin)`. */
  type: 'repository' | 'registry';
  pattern: RegExp;
  actions: ReadonlySet<string>;
}

/**
 * Compiles a resource glob: `*` matches within one `/`-separated component, `**` across
 * components; every other character stands for itself.
 */
export function compileGlob(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*' && glob.charAt(i + 1) === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/** An authorisation decision source, immutable once built. */
export class Acl {
  readonly #rules: Rule[];
  readonly #groups: ReadonlyMap<string, readonly string[]>;

  private constructor(rules: Rule[], groups: ReadonlyMap<string, readonly string[]>) {
    this.#rules = rules;
    this.#groups = groups;
  }

  /** An ACL that grants nothing to anyone. */
  static empty(): Acl {
    return new Acl([], new Map());
  }

  /**
   * Parses ACL YAML text.
   *
   * @throws TokenServerConfigError listing every problem, including rules naming groups
   *   that are not defined.
   */
  static parse(text: string, source = 'acl'): Acl {
    return Acl.#build(parseYamlWith(text, aclSchema, source), source);
  }

  /** Reads and parses an ACL file (see {@link Acl.parse}). */
  static async load(file: string): Promise<Acl> {
    return Acl.#build(await readYamlWith(file, aclSchema), file);
  }

  static #build(raw: z.output<typeof aclSchema>, source: string): Acl {
    const groups = new Map<string, string[]>();
    for (const [group, users] of Object.entries(raw.groups ?? {})) {
      for (const user of users) groups.set(user, [...(groups.get(user) ?? []), group]);
    }
    const known = new Set(Object.keys(raw.groups ?? {}));
    const problems: string[] = [];
    const rules = (raw.rules ?? []).map((rule, i): Rule => {
      const subjects = typeof rule.subject === 'string' ? [rule.subject] : rule.subject;
      for (const s of subjects) {
        if (s.startsWith('group:') && !known.has(s.slice('group:'.length))) {
          problems.push(`rules.${i}.subject: group ${s.slice('group:'.length)} is not defined`);
        }
      }
      const repository = rule.repository !== undefined;
      return {
        subjects,
        type: repository ? 'repository' : 'registry',
        pattern: compileGlob(rule.repository ?? rule.registry ?? ''),
        actions: new Set(rule.actions),
      };
    });
    if (problems.length > 0) throw new TokenServerConfigError(problems, source);
    return new Acl(rules, groups);
  }

  /**
   * The requested actions on `scope` that `user` is granted: the intersection of what the
   * scope asks and what the rules allow (token.md, "Requesting a Token"), in request order.
   * A requested `*` is granted only by a rule granting `*`.
   *
   * @param user - The authenticated user, or null for an anonymous request.
   */
  grantedActions(user: string | null, scope: ResourceScope): string[] {
    if (scope.type !== 'repository' && scope.type !== 'registry') return [];
    const allowed = new Set<string>();
    for (const rule of this.#rules) {
      if (rule.type !== scope.type || !this.#applies(rule, user)) continue;
      if (!rule.pattern.test(scope.name)) continue;
      for (const action of rule.actions) allowed.add(action);
    }
    // Actions the registry has never heard of are granted to nobody, even under `*`, so a
    // token carries only what a request asked for and a rule can allow.
    const meaningful = scope.actions.filter(
      (a) => scope.type !== 'repository' || repositoryActions.has(a),
    );
    if (allowed.has('*')) return meaningful;
    return meaningful.filter((a) => allowed.has(a));
  }

  #applies(rule: Rule, user: string | null): boolean {
    return rule.subjects.some((s) => {
      if (s === 'anonymous') return true;
      if (user === null) return false;
      if (s === '*') return true;
      if (s.startsWith('user:')) return s.slice('user:'.length) === user;
      return (this.#groups.get(user) ?? []).includes(s.slice('group:'.length));
    });
  }
}
