/** Options every integration shares: which policy action a tool is, the request context, how a denial reaches the model. */
import type { JsonObject } from '../../compiler/index.js';
import { IntegrationConfigError } from './errors.js';
import type { LedgerOptions } from './ledger.js';

/** What the model gets when APE refuses a call: an error result it can read, or the typed error thrown. */
export type DenyMode = 'result' | 'throw';

/** Options of every integration. */
export interface IntegrationOptions extends LedgerOptions {
  /** Tool name -> policy action id; a tool not listed is the action of its own name. */
  actions?: Readonly<Record<string, string>>;
  /** Request context for the policy (`context.*`), the same for every call. */
  context?: JsonObject;
  /** `result` (default): the model receives an error result with the reason; `throw`: the typed `ApeError` is thrown. */
  onDeny?: DenyMode;
}

/** Checked, copied options: read once. */
export interface ResolvedOptions {
  actionOf: (tool: string) => string;
  context: JsonObject | undefined;
  onDeny: DenyMode;
  ledger: LedgerOptions;
}

/** Checks and copies integration options. Throws `IntegrationConfigError`. */
export function resolveOptions(options: IntegrationOptions | undefined): ResolvedOptions {
  const o = options ?? {};
  if (typeof o !== 'object') throw new IntegrationConfigError('options must be an object');
  const actions = new Map<string, string>();
  if (o.actions !== undefined) {
    if (o.actions === null || typeof o.actions !== 'object') throw new IntegrationConfigError('actions must map tool names to action ids');
    for (const [tool, action] of Object.entries(o.actions)) {
      if (typeof action !== 'string' || action.length === 0) throw new IntegrationConfigError(`actions['${tool}'] must be a non-empty action id`);
      actions.set(tool, action);
    }
  }
  const onDeny = o.onDeny ?? 'result';
  if (onDeny !== 'result' && onDeny !== 'throw') throw new IntegrationConfigError(`onDeny must be 'result' or 'throw', not '${String(onDeny)}'`);
  let context: JsonObject | undefined;
  if (o.context !== undefined) {
    if (o.context === null || typeof o.context !== 'object' || Array.isArray(o.context)) throw new IntegrationConfigError('context must be a JSON object');
    context = JSON.parse(JSON.stringify(o.context)) as JsonObject;
  }
  const ledger: LedgerOptions = {};
  if (o.approvalTtlMs !== undefined) ledger.approvalTtlMs = o.approvalTtlMs;
  if (o.approvalStore !== undefined) ledger.approvalStore = o.approvalStore;
  return { actionOf: (tool) => actions.get(tool) ?? tool, context, onDeny, ledger };
}
