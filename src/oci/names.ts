/**
 * Repository names and tags (OCI distribution spec "Pulling manifests"; the reference's
 * `reference` grammar). A name is slash-separated lowercase components; together at most
 * 255 characters. Nothing that could escape a storage path (`..`, `.`, empty components,
 * percent-encoding, backslashes) can pass.
 */
import { RegistryError } from '../errors/registry-error.js';

const component = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const nameGrammar = new RegExp(`^${component}(?:/${component})*$`);
const tagGrammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** The longest repository name accepted, as the reference registry limits it. */
export const maxNameLength = 255;

/** True when `name` is a valid repository name. */
export function isValidName(name: string): boolean {
  return name.length <= maxNameLength && nameGrammar.test(name);
}

/** Throws `NAME_INVALID` unless `name` is a valid repository name. */
export function checkName(name: string): string {
  if (name.length > maxNameLength) {
    throw new RegistryError('NAME_INVALID', `repository name longer than ${maxNameLength}`);
  }
  if (!nameGrammar.test(name)) throw new RegistryError('NAME_INVALID', 'invalid repository name');
  return name;
}

/** True when `tag` is a valid tag. */
export function isValidTag(tag: string): boolean {
  return tagGrammar.test(tag);
}
