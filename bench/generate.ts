/** Generates large policies for benchmarks: N inline actions, one conditioned rule each. */

/** YAML of a policy with `count` actions, each with an allow rule (path prefix + size) and every 10th with a deny rule. */
export function largePolicyYaml(count: number, name = 'bench_large'): string {
  const lines = [`name: ${name}`, 'default_decision: deny', 'actions:'];
  for (let i = 0; i < count; i++) {
    lines.push(`  - id: tool_${i}`);
    lines.push('    risk_level: low');
    lines.push('    parameters: { type: object, properties: { path: { type: string, format: path }, size: { type: integer } }, required: [path] }');
  }
  lines.push('rules:');
  for (let i = 0; i < count; i++) {
    lines.push(`  - id: allow-${i}`, `    action: tool_${i}`, '    decision: allow', '    conditions:', `      path: { prefix: /data/t${i}/ }`, '      size: { exists: true, max: 1048576 }');
    if (i % 10 === 0) lines.push(`  - id: deny-${i}`, `    action: tool_${i}`, '    decision: deny', '    conditions:', '      path: { suffix: .pem }');
  }
  return `${lines.join('\n')}\n`;
}
