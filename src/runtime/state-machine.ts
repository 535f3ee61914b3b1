/** The runtime state machine: INITIALIZED -> INTENT_SET -> PLAN_APPROVED -> EXECUTING <-> ESCALATION_REQUIRED -> TERMINATED. */
import { RuntimeStateError } from './errors.js';

/** The states of a run. */
export type RuntimeState = 'INITIALIZED' | 'INTENT_SET' | 'PLAN_APPROVED' | 'EXECUTING' | 'ESCALATION_REQUIRED' | 'TERMINATED';

/** Legal transitions: from a state, the states it may move to. */
export const TRANSITIONS: Readonly<Record<RuntimeState, readonly RuntimeState[]>> = {
  INITIALIZED: ['INTENT_SET', 'TERMINATED'],
  INTENT_SET: ['INTENT_SET', 'PLAN_APPROVED', 'TERMINATED'],
  PLAN_APPROVED: ['INTENT_SET', 'PLAN_APPROVED', 'EXECUTING', 'TERMINATED'],
  EXECUTING: ['INTENT_SET', 'PLAN_APPROVED', 'ESCALATION_REQUIRED', 'TERMINATED'],
  ESCALATION_REQUIRED: ['EXECUTING', 'TERMINATED'],
  TERMINATED: [],
};

/** Holds a run's state; every change goes through `transition`, which refuses illegal moves. */
export class StateMachine {
  #state: RuntimeState = 'INITIALIZED';
  readonly #onChange: (from: RuntimeState, to: RuntimeState, operation: string) => void;

  constructor(onChange: (from: RuntimeState, to: RuntimeState, operation: string) => void = () => {}) {
    this.#onChange = onChange;
  }

  /** The current state. */
  get state(): RuntimeState {
    return this.#state;
  }

  /** Moves to `to`, or throws `RuntimeStateError` naming the operation. */
  transition(to: RuntimeState, operation: string): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(to)) throw new RuntimeStateError(from, operation);
    this.#state = to;
    this.#onChange(from, to, operation);
  }

  /** Throws `RuntimeStateError` unless the state is one of `states`. */
  require(operation: string, ...states: RuntimeState[]): void {
    if (!states.includes(this.#state)) throw new RuntimeStateError(this.#state, operation);
  }
}
