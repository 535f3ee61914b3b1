/** The public mapping from an MCP tool name to an APE action id: `<name>`, or `<prefix>.<name>` with a prefix. */

/** The action id of tool `name`: the name itself, or `<prefix>.<name>` when a prefix is given. */
export function toolActionId(name: string, prefix?: string): string {
  return prefix !== undefined && prefix !== '' ? `${prefix}.${name}` : name;
}
