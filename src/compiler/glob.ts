/** Globs as the policy language defines them (`*` = any run of characters, everything else literal). */

/** A glob as an anchored regular expression: what `allowlist`, `denylist` and scope host patterns match with. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${body}$`, 'u');
}
