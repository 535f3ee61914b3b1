/**
 * Differential test against the real Python APE 1.0.2 (PyPI `agent-policy-engine==1.0.2`, installed by
 * scripts/install-ape-py.sh): the same policies, in both of its shapes, loaded into both engines,
 * and the decisions compared live, on listed, odd and generated requests.
 */
import { readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import type { JsonObject } from '../../src/compiler/ir.js';
import { STANDARD_ACTION_IDS } from '../../src/compiler/repository.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { compatibleRequest, compatibleRequestFor, EXTRA_ACTIONS, hostileRequest, ODD_ACTIONS, peerPolicy } from './generate.js';
import { peerDecide, type PeerAnswer, type PeerDecision, type PeerRequest } from './peer.js';

const DIR = new URL('./policies/', import.meta.url).pathname;
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

type Outcome = PeerDecision | 'ERROR';
/** How strict an outcome is: an error is a refusal, as strict as a denial. */
const STRICTNESS: Record<Outcome, number> = { ALLOW: 0, ESCALATE: 1, DENY: 2, ERROR: 2 };

/** APE's outcome for a request: its decision, or ERROR when it refuses the request (never an allow). */
function apeOutcome(evaluator: NativeEvaluator, request: PeerRequest): Outcome {
  try {
    return evaluator.decideSync(request).decision.toUpperCase() as PeerDecision;
  } catch {
    return 'ERROR';
  }
}

function decisionsOf(answer: PeerAnswer | undefined): PeerDecision[] {
  if (answer === undefined || 'load_error' in answer) throw new Error(`the peer refused the policy: ${JSON.stringify(answer)}`);
  return answer.decisions;
}

/** Every action a policy names (lists, rules, transitions), the standard ones and odd spellings. */
function actionIds(policy: CompiledPolicy): string[] {
  const ids = new Set<string>([...STANDARD_ACTION_IDS, ...EXTRA_ACTIONS, ...ODD_ACTIONS, 'totally_unknown_action']);
  for (const rule of policy.ir.rules) for (const a of rule.actions) ids.add(a);
  for (const [from, to] of Object.entries(policy.ir.toolTransitions)) [from, ...to].forEach((a) => ids.add(a));
  return [...ids].sort();
}

/** The request with its path parameters normalized (what APE compares, and what the peer should have compared). */
function normalizedPaths(request: PeerRequest): PeerRequest {
  const params: JsonObject = { ...request.params };
  for (const key of ['path', 'cwd']) {
    const value = params[key];
    if (typeof value === 'string' && value.startsWith('/')) params[key] = posix.normalize(value);
  }
  return { ...request, params };
}

describe('the Python APE 1.0.2 decides like APE (live differential test)', () => {
  it('policies shaped like its five examples and its rules shape: every action, every transition, generated parameters', () => {
    const cases = FILES.map((file) => {
      const policy = compilePolicyFile(join(DIR, file));
      const ids = actionIds(policy);
      const requests: PeerRequest[] = [];
      // Each action id with generated valid parameters, then after every transition key.
      const samples = fc.sample(compatibleRequest, { numRuns: 400, seed: FILES.indexOf(file) + 1 });
      for (const id of ids) for (const s of samples.filter((r) => r.action === id).slice(0, 4)) requests.push({ action: id, params: s.params });
      for (const id of ids) if (!requests.some((r) => r.action === id)) requests.push({ action: id, params: {} });
      for (const from of Object.keys(policy.ir.toolTransitions)) {
        for (const id of ids) {
          const withParams = requests.find((r) => r.action === id);
          if (withParams) requests.push({ ...withParams, previous_action: from });
        }
      }
      return { file, policy, requests };
    });
    const answers = peerDecide(cases.map(({ file, requests }) => ({ file: join(DIR, file), requests })));
    let compared = 0;
    cases.forEach(({ file, policy, requests }, i) => {
      const peer = decisionsOf(answers[i]);
      const evaluator = new NativeEvaluator(policy);
      const ours = requests.map((r) => apeOutcome(evaluator, r));
      const diffs = requests.flatMap((r, j) => (ours[j] === peer[j] ? [] : [{ file, request: r, ape: ours[j], peer: peer[j] }]));
      expect(diffs).toEqual([]);
      compared += requests.length;
    });
    expect(FILES.length).toBe(7);
    expect(compared).toBeGreaterThan(800);
  });

  // Hostile requests: the peer decides the path-normalized request (on raw traversal paths it is
  // wrong, see the last test); APE, given the raw request, must be at least as strict.
  it('generated policies in both shapes: equal decisions on compatible requests, never weaker on hostile ones', () => {
    const policies = fc.sample(peerPolicy, { numRuns: 250, seed: 2026 });
    const cases = policies.map((policy, i) => {
      const ruled = ((policy['rules'] ?? []) as JsonObject[]).map((r) => r['action'] as string);
      const onRules = ruled.length > 0 ? fc.sample(compatibleRequestFor(ruled), { numRuns: 20, seed: 30_000 + i }) : [];
      return {
      policy,
      compatible: [...fc.sample(compatibleRequest, { numRuns: 40 - onRules.length, seed: 10_000 + i }), ...onRules],
      hostile: fc.sample(hostileRequest, { numRuns: 12, seed: 20_000 + i }),
      };
    });
    const answers = peerDecide(cases.map((c) => ({ policy: c.policy, requests: [...c.compatible, ...c.hostile.map(normalizedPaths)] })));
    const equal: unknown[] = [];
    const weaker: unknown[] = [];
    let withRules = 0;
    let total = 0;
    const seen: Record<string, number> = {};
    cases.forEach((c, i) => {
      const peer = decisionsOf(answers[i]);
      const evaluator = new NativeEvaluator(compilePolicySource(stringify(c.policy), `generated-${i}.yaml`));
      if (c.policy['rules'] !== undefined) withRules += 1;
      c.compatible.forEach((request, j) => {
        const ours = apeOutcome(evaluator, request);
        const rule = c.policy['rules'] !== undefined && (c.policy['rules'] as JsonObject[]).some((r) => r['action'] === request.action);
        seen[`${rule ? 'rule' : 'list'}:${ours}`] = (seen[`${rule ? 'rule' : 'list'}:${ours}`] ?? 0) + 1;
        if (ours !== peer[j]) equal.push({ policy: c.policy, request, ape: ours, peer: peer[j] });
      });
      c.hostile.forEach((request, j) => {
        const ours = apeOutcome(evaluator, request);
        const theirs = peer[c.compatible.length + j] as PeerDecision;
        if (STRICTNESS[ours] < STRICTNESS[theirs]) weaker.push({ policy: c.policy, request, ape: ours, peer: theirs });
      });
      total += c.compatible.length + c.hostile.length;
    });
    expect(equal.slice(0, 3)).toEqual([]);
    expect(weaker.slice(0, 3)).toEqual([]);
    expect(withRules).toBeGreaterThan(50);
    // Every decision occurs, from the lists and from conditions that held and failed.
    for (const key of ['list:ALLOW', 'list:DENY', 'list:ESCALATE', 'rule:ALLOW', 'rule:DENY', 'rule:ESCALATE']) expect(seen[key] ?? 0, key).toBeGreaterThan(40);
    expect(total).toBe(250 * 52);
  });

  it('the peer is the real package and is really driven: it refuses what its schema refuses', () => {
    const bad: JsonObject = { allowed_actions: ['read_file'], forbidden_actions: ['read_file'] };
    const [overlap, missing, ok] = peerDecide([
      { policy: bad, requests: [] },
      { policy: { allowed_actions: ['read_file'] }, requests: [] },
      { policy: { allowed_actions: ['read_file'], forbidden_actions: [] }, requests: [{ action: 'read_file', params: {} }, { action: 'x', params: {} }] },
    ]);
    expect(overlap).toMatchObject({ load_error: expect.stringContaining('both allowed and forbidden') });
    expect(missing).toMatchObject({ load_error: expect.stringContaining("'forbidden_actions' is a required property") });
    expect(ok).toEqual({ decisions: ['ALLOW', 'DENY'] });
  });

  it('APE closes the holes the peer leaves open on the same policy (traversal, missing parameters)', () => {
    const file = join(DIR, 'rules_workspace.yaml');
    const requests: PeerRequest[] = [
      { action: 'read_file', params: { path: '/workspace/../etc/passwd' } },
      { action: 'write_file', params: { path: '/workspace/a.md', content: 'x' } },
    ];
    const [answer] = peerDecide([{ file, requests }]);
    expect(decisionsOf(answer)).toEqual(['ALLOW', 'ALLOW']);
    const evaluator = new NativeEvaluator(compilePolicyFile(file));
    // The path is /etc/passwd once normalized; the size limit cannot be checked without a size.
    expect(requests.map((r) => apeOutcome(evaluator, r))).toEqual(['DENY', 'DENY']);
  });
});
