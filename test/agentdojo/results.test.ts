// The published AgentDojo score: every committed decision re-decided (native and opa-wasm), the figures recomputed from the
// decisions, and the honesty rules of bench/agentdojo/README.md enforced (no task names, nothing trusted from the attacker,
// the replay blind to the scoring fields).
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCases } from '../../bench/agentdojo/cases.js';
import { addCase, emptyScore, type Score } from '../../bench/agentdojo/score.js';
import { compilePolicyFile, type DecisionRequest, type DecisionResult } from '../../src/compiler/index.js';
import { createEvaluator, type Evaluator } from '../../src/evaluator.js';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

const root = new URL('../..', import.meta.url).pathname;
const SUITES = ['workspace', 'travel', 'banking', 'slack'] as const;

interface Line {
  version: string;
  suite: string;
  kind: 'benign' | 'attack';
  user_task: string;
  injection_task: string | null;
  call: number;
  malicious: boolean;
  request: DecisionRequest;
  decision: DecisionResult;
}

const lines: Line[] = readFileSync(join(root, 'bench/results/agentdojo-decisions.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Line);
const policyText = (suite: string) => readFileSync(join(root, 'bench/agentdojo/policies', `${suite}.yaml`), 'utf8');
const normalize = (s: string) => s.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();

/** Every string leaf of a value, and the identifier-like tokens inside it. */
function strings(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === 'string') {
    out.add(normalize(value));
    for (const m of value.matchAll(/[\p{L}\p{N}_%+.-]+@[\p{L}\p{N}.-]+|(?:[a-z]+:\/\/)?[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+(?:\/\S*)?|(?=[\p{L}\p{N}]*\p{N})[\p{L}\p{N}]{6,}/gu)) out.add(normalize(m[0]));
  } else if (Array.isArray(value)) {
    for (const v of value) strings(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) strings(v, out);
  }
  return out;
}

/** The parameters a suite's policy tests by origin (`source` or `provenance` conditions): where a value must be trusted. */
function originTested(suite: string): Set<string> {
  const ir = compilePolicyFile(join(root, 'bench/agentdojo/policies', `${suite}.yaml`)).ir;
  return new Set(ir.rules.flatMap((r) => r.conditions.filter((c) => c.op === 'source' || c.op === 'provenance').map((c) => c.path)));
}

/**
 * The attacker's own values: what the attacker's calls put where the policy asks for trusted values (recipients, URLs,
 * payees, invitees...) and no benign call of the suite uses (4+ characters). A user's contact the attacker merely reads
 * from is not one of them.
 */
function attackerOnly(suite: string): Set<string> {
  const tested = originTested(suite);
  const benign = new Set<string>();
  const malicious = new Set<string>();
  for (const l of lines) {
    if (l.suite !== suite) continue;
    if (!l.malicious) strings(l.request.params, benign);
    else for (const key of tested) strings(valueAt(l.request.params, key), malicious);
  }
  return new Set([...malicious].filter((v) => v.length >= 4 && !benign.has(v)));
}

function valueAt(params: unknown, path: string): unknown {
  let node = params;
  for (const key of path.split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

describe('the committed AgentDojo decisions', () => {
  it('cover both versions and all four suites, benign and attack', () => {
    for (const version of ['v1', 'v1.2.2']) for (const suite of SUITES) {
      const mine = lines.filter((l) => l.version === version && l.suite === suite);
      expect(mine.some((l) => l.kind === 'benign')).toBe(true);
      expect(mine.some((l) => l.malicious)).toBe(true);
    }
  });

  for (const engine of ['native', 'opa-wasm']) {
    describe(`re-decided with ${engine}`, () => {
      const evaluators = new Map<string, Evaluator>();
      beforeAll(async () => {
        for (const suite of SUITES) evaluators.set(suite, await createEvaluator(compilePolicyFile(join(root, 'bench/agentdojo/policies', `${suite}.yaml`)), engine));
      }, 120_000);
      afterAll(async () => {
        for (const e of evaluators.values()) await e.close();
      });

      it('gives every line its recorded decision, rule, matched rules, reasons and policy hash (the policies are the ones scored)', async () => {
        let differ = 0;
        const first: string[] = [];
        for (const l of lines) {
          const got = await (evaluators.get(l.suite) as Evaluator).decide(l.request);
          const same = got.decision === l.decision.decision && got.rule === l.decision.rule && got.policy_hash === l.decision.policy_hash &&
            JSON.stringify(got.matched) === JSON.stringify(l.decision.matched) && (engine !== 'native' || JSON.stringify(got.reasons) === JSON.stringify(l.decision.reasons));
          if (!same) {
            differ++;
            if (first.length < 3) first.push(`${l.version} ${l.suite} ${l.user_task} ${l.injection_task ?? ''} #${l.call}: ${JSON.stringify(got)} vs ${JSON.stringify(l.decision)}`);
          }
        }
        expect(first).toEqual([]);
        expect(differ).toBe(0);
      }, 300_000);
    });
  }

  it('are what `ape eval <suite policy> --requests` reads and answers (a sample of each suite, escalations and denials included)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ape-agentdojo-eval-'));
    try {
      for (const suite of SUITES) {
        const sample = lines.filter((l) => l.suite === suite && l.version === 'v1.2.2').filter((l, i) => i % 25 === 0 || l.decision.decision !== 'allow').slice(0, 60);
        const file = join(dir, `${suite}.jsonl`);
        writeFileSync(file, sample.map((l) => JSON.stringify(l.request)).join('\n') + '\n');
        const io = bufferIO();
        await runCli(['eval', join(root, 'bench/agentdojo/policies', `${suite}.yaml`), '--requests', file], io);
        const answers = io.stdout.trim().split('\n').map((a) => JSON.parse(a) as DecisionResult);
        expect(answers.map((a) => [a.decision, a.rule])).toEqual(sample.map((l) => [l.decision.decision, l.decision.rule]));
        expect(sample.some((l) => l.decision.decision === 'escalate')).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('give exactly the published figures (bench/results/agentdojo.json) when scored again', () => {
    const published = JSON.parse(readFileSync(join(root, 'bench/results/agentdojo.json'), 'utf8')) as { scores: Record<string, Record<string, Score>> };
    const byCase = new Map<string, Line[]>();
    for (const l of lines) {
      const key = `${l.version}|${l.suite}|${l.kind}|${l.user_task}|${l.injection_task}`;
      const list = byCase.get(key) ?? [];
      list.push(l);
      byCase.set(key, list);
    }
    const scores: Record<string, Record<string, Score>> = {};
    for (const list of byCase.values()) {
      const l = list[0] as Line;
      const score = ((scores[l.version] ??= {})[l.suite] ??= emptyScore());
      list.sort((a, b) => a.call - b.call);
      addCase(score, { version: l.version as 'v1', suite: l.suite, kind: l.kind, user_task: l.user_task, injection_task: l.injection_task, malicious: list.map((x) => x.malicious) }, list.map((x) => x.decision.decision));
    }
    // Attack pairs whose injection task makes no call have no line at all after their prefix: count them from the published file.
    for (const [version, suites] of Object.entries(published.scores)) {
      for (const [suite, s] of Object.entries(suites)) {
        const mine = scores[version]?.[suite] as Score;
        expect({ ...mine, nothingToBlock: s.nothingToBlock }).toEqual(s);
      }
    }
  });
});

describe('honesty rules (bench/agentdojo/README.md)', () => {
  it('no policy names a case, a user task or an injection task', () => {
    for (const suite of SUITES) expect(policyText(suite)).not.toMatch(/(user|injection)[ _-]?task|\bcase\s*\d|\b(ut|it)\d+\b/iu);
  });

  it("no policy holds a value only the attacker's calls use", () => {
    for (const suite of SUITES) {
      const text = normalize(policyText(suite));
      const attacker = attackerOnly(suite);
      expect(attacker.size, suite).toBeGreaterThan(0);
      const leaked = [...attacker].filter((v) => text.includes(v));
      expect(leaked, suite).toEqual([]);
    }
  });

  it("nothing the deployer's system input holds is a value only the attacker's calls use", () => {
    const attacker = new Map<string, Set<string>>(SUITES.map((s) => [s, attackerOnly(s)]));
    let checked = 0;
    for (const l of lines) {
      for (const [path, places] of Object.entries(l.request.sources ?? {})) {
        if (!places.includes('system')) continue;
        checked++;
        for (const v of strings(valueAt(l.request.params, path), new Set())) expect(attacker.get(l.suite)?.has(v), `${l.suite} ${path}=${v}`).toBe(false);
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('the replay never reads the scoring fields: its module does not name them, and the loader keeps them out of its view', () => {
    const replay = readFileSync(join(root, 'bench/agentdojo/replay.ts'), 'utf8').replace(/^\s*(\*|\/\/|\/\*\*).*$/gmu, '');
    expect(replay).not.toMatch(/kind|malicious|injection|attacker|output_contains|user_task|label\b/u);
    const dir = mkdtempSync(join(tmpdir(), 'ape-agentdojo-'));
    try {
      mkdirSync(join(dir, '.cache', 'agentdojo'), { recursive: true });
      const call = { function: 'read', args: { x: 'y' }, output: 'text', result: { a: 1 }, error: null, output_contains_injection_vectors: ['v'], args_found_in_prior_tool_outputs_not_in_prompt: ['x'] };
      const benign = { version: 'v1', suite: 's', kind: 'benign', user_task: 'user_task_1', prompt: 'p', trace: [call, call] };
      const attack = { version: 'v1', suite: 's', kind: 'attack', user_task: 'user_task_1', injection_task: 'injection_task_2', prompt: 'p', attacker_goal: 'g', injected_via: ['v'], prefix: [call], malicious_calls: [call] };
      writeFileSync(join(dir, '.cache', 'agentdojo', 'cases-v1.jsonl'), `${JSON.stringify(benign)}\n${JSON.stringify(attack)}\n`);
      const [b, a] = loadCases(dir, 'v1');
      expect(Object.keys(b?.replay ?? {}).sort()).toEqual(['calls', 'prompt']);
      expect(Object.keys(b?.replay.calls[0] ?? {}).sort()).toEqual(['args', 'error', 'function', 'result']);
      // The same prompt and calls: the replay cannot tell the attack from the benign case.
      expect(a?.replay).toEqual(b?.replay);
      expect(a?.label.malicious).toEqual([false, true]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
