/**
 * Reading the token server's YAML files (its configuration and the ACL): parse, validate
 * with a zod schema, and report every problem with its dotted path at once.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/** A configuration or ACL file that cannot be used; `problems` lists every reason. */
export class TokenServerConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly source: string,
  ) {
    super(`${source}: invalid token server configuration\n  ${problems.join('\n  ')}`);
    this.name = 'TokenServerConfigError';
  }
}

/**
 * Parses `text` as YAML and validates it against `schema`.
 *
 * @param source - File name for messages.
 * @throws TokenServerConfigError listing every problem (YAML syntax or schema).
 */
export function parseYamlWith<S extends z.ZodType>(
  text: string,
  schema: S,
  source: string,
): z.output<S> {
  let raw: unknown;
  try {
    raw = parseYaml(text) as unknown;
  } catch (err) {
    throw new TokenServerConfigError([`not valid YAML: ${(err as Error).message}`], source);
  }
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new TokenServerConfigError(parsed.error.issues.flatMap(formatIssue), source);
  }
  return parsed.data;
}

/** Reads a YAML file and validates it (see {@link parseYamlWith}). */
export async function readYamlWith<S extends z.ZodType>(
  file: string,
  schema: S,
): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TokenServerConfigError([`cannot read: ${(err as Error).message}`], file);
  }
  return parseYamlWith(text, schema, file);
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${[...path, key].join('.')}: unknown key`);
  }
  const message =
    issue.code === 'invalid_type' && issue.input === undefined ? 'required' : issue.message;
  return [`${path.length > 0 ? path.join('.') : '(top level)'}: ${message}`];
}
