/** Regal (the Rego linter, scripts/install-regal.sh) finds nothing in the committed rego/ nor in any suite policy's compiled Rego. */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runOpa } from '../../src/adapters/opa/cli.js';
import { emitRego, emitRegoTests } from '../../src/compiler/rego/index.js';
import { nativeDecide } from '../../src/adapters/native/index.js';
import { suitePolicies } from '../conformance/cases.js';
import { tempDir } from '../opa/helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const REGAL = join(ROOT, '.tools/bin/regal');
const CONFIG = join(ROOT, '.regal/config.yaml');
const temp = tempDir('ape-regal-');
afterAll(() => temp.remove());

interface Violation {
  title: string;
  description: string;
  location: { file: string; row: number; text?: string };
}

interface Report {
  violations: Violation[] | null;
  summary: { files_scanned: number; num_violations: number };
}

/** Runs `regal lint --format json` with the project's config; exit code 3 only means violations were found. */
function lint(...paths: string[]): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(REGAL, ['lint', '--format', 'json', '--config-file', CONFIG, ...paths], { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && error.code !== 3) reject(new Error(`regal lint failed (${String(error.code)}): ${stderr}${stdout}`));
      else resolve(JSON.parse(stdout) as Report);
    });
  });
}

/** One line per violation, so a failure names each of them. */
function listed(report: Report): string[] {
  return (report.violations ?? []).map((v) => `${v.title} ${v.location.file}:${v.location.row} ${v.location.text ?? ''}`);
}

describe('Regal on the compiled Rego', () => {
  it('is installed by scripts/install-regal.sh (npm pretest)', () => {
    expect(existsSync(REGAL), `${REGAL} is missing: run bash scripts/install-regal.sh`).toBe(true);
  });

  it('finds no violation in the committed rego/', async () => {
    const report = await lint(join(ROOT, 'rego'));
    expect(report.summary.files_scanned).toBeGreaterThanOrEqual(12);
    expect(listed(report)).toEqual([]);
  });

  it('finds no violation in the Rego compiled from every suite policy (every operator, hostile strings, ...)', async () => {
    const dir = join(temp.dir, 'suite');
    mkdirSync(dir, { recursive: true });
    const names = new Set<string>();
    for (const { policy } of suitePolicies()) {
      if (names.has(policy.ir.name)) continue;
      names.add(policy.ir.name);
      writeFileSync(join(dir, `${policy.ir.name}.rego`), emitRego(policy));
      writeFileSync(join(dir, `${policy.ir.name}_test.rego`), emitRegoTests(policy, nativeDecide(policy)));
    }
    expect(names).toContain('every_operator');
    const report = await lint(dir);
    expect(report.summary.files_scanned).toBe(2 * names.size);
    expect(listed(report)).toEqual([]);
  }, 120_000);

  it('still reports the rules the config leaves on (a trailing default, a hand-written has-key, a `with` outside tests)', async () => {
    const policy = suitePolicies().find((p) => p.policy.ir.name === 'every_operator')?.policy;
    if (!policy) throw new Error('every_operator is missing from the suite');
    const source = emitRego(policy);
    const hits = '_hits := _matched[input.action]\n';
    const broken = source
      .replace(`default _hits := set()\n\n${hits}`, `${hits}\ndefault _hits := set()\n`)
      .replace('\t# regal ignore:with-outside-test-context\n', '')
      .concat('\n_has_key(o, k) if {\n\t_ = o[k]\n}\n');
    expect(broken).not.toBe(source);
    const dir = join(temp.dir, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'every_operator.rego'), broken);
    // Still opa fmt-formatted and valid: what Regal reports is about these rules only.
    expect((await runOpa(['fmt', '--list', dir])).stdout.trim()).toBe('');
    const titles = new Set((await lint(dir)).violations?.map((v) => v.title));
    expect([...titles].sort()).toEqual(['custom-has-key-construct', 'trailing-default-rule', 'with-outside-test-context']);
  });
});
