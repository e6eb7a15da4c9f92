/** Typed access to the `code` of Node system errors. */

/** The `code` (`ENOENT`, `EISDIR`, ...) of a Node system error, or undefined for others. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const { code } = err;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * True when a lookup failed because nothing is at the path: it is missing (`ENOENT`) or one
 * of its parents is a file (`ENOTDIR`). Both mean "no such path" to the registry.
 */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
