/** The Python APE 1.0.2 as a live peer: its real PolicyEngine (installed by scripts/install-ape-py.sh) decides batches of requests. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonObject } from '../../src/compiler/ir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The interpreter of the venv that holds `agent-policy-engine==1.0.2`. */
export const PEER_PYTHON = `${ROOT}.tools/ape-py/bin/python`;
const DRIVER = fileURLToPath(new URL('./ape_py_driver.py', import.meta.url));

/** A decision of the peer: its enum values. */
export type PeerDecision = 'ALLOW' | 'DENY' | 'ESCALATE';

/** One request, in the fields both engines read. */
export interface PeerRequest {
  action: string;
  params: JsonObject;
  previous_action?: string;
}

/** A policy for the peer (a YAML file it loads itself, or the parsed policy) and the requests to decide. */
export type PeerCase = ({ file: string } | { policy: JsonObject }) & { requests: PeerRequest[] };

/** What the peer answered for one case: its decisions in request order, or why it refused the policy. */
export type PeerAnswer = { decisions: PeerDecision[] } | { load_error: string };

/** Decides every case with the Python APE in one process. Throws when the peer is not installed or fails. */
export function peerDecide(cases: PeerCase[]): PeerAnswer[] {
  if (!existsSync(PEER_PYTHON)) throw new Error(`the Python APE peer is not installed at ${PEER_PYTHON}: run bash scripts/install-ape-py.sh`);
  const run = spawnSync(PEER_PYTHON, [DRIVER], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`the Python APE peer failed (${String(run.status)}): ${run.stderr}`);
  const answers = JSON.parse(run.stdout) as PeerAnswer[];
  if (answers.length !== cases.length) throw new Error(`the peer answered ${answers.length} of ${cases.length} cases`);
  return answers;
}
