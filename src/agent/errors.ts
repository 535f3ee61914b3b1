/** Typed errors of the agent layer: ambiguity of a prompt, a closed Ape, a bad option. */
import { ApeError } from '../index.js';

/** One reading of an ambiguous prompt. */
export interface IntentCandidate {
  /** The actions this reading would allow. */
  actions: string[];
  /** Why this reading was considered. */
  reason: string;
}

/** A prompt asks for nothing the repository knows, or can be read in ways that differ in authority. Never a guess. */
export class IntentAmbiguityError extends ApeError {
  readonly prompt: string;
  readonly candidates: IntentCandidate[];
  constructor(prompt: string, candidates: IntentCandidate[], message: string) {
    super('APE_INTENT_AMBIGUOUS', message);
    this.prompt = prompt;
    this.candidates = candidates;
  }
}

/** The Ape was closed: nothing more runs through it. */
export class AgentClosedError extends ApeError {
  constructor() {
    super('APE_AGENT_CLOSED', 'this Ape is closed');
  }
}

/** An agent-layer option or argument is invalid. */
export class AgentConfigError extends ApeError {
  constructor(message: string) {
    super('APE_AGENT_CONFIG', message);
  }
}
