/** Live reload for an `Ape`: a live policy bound to `ape.replacePolicy`, its refusals audited by the Ape's runtime, its status in `ape.policyStatus()`. */
import { Ape, type ApeOptions, type PolicyInput } from '../agent/index.js';
import { ApeError } from '../errors.js';
import { LivePolicy, type LivePolicyOptions } from './live.js';
import type { PolicySource } from './sources/types.js';

/**
 * Watches `source` for an Ape: each newer valid policy is swapped in (`ape.replacePolicy`); a refused one (fetch, compile,
 * signature, rollback, engine) keeps the current policy and is audited as `policy.refused`. Returns the live policy:
 * `refresh()` checks now (give it to `webhookHandler`), `status()` is what `ape.policyStatus()` reports.
 */
export function watchApe(ape: Ape, source: PolicySource, options: LivePolicyOptions = {}): LivePolicy {
  const live = LivePolicy.watch(ape.policy, source, options);
  ape.attachPolicyFeed(live);
  live.bind((next) => ape.replacePolicy(next, { source: source.description }));
  live.on((event) => {
    if (event.type !== 'policy.refused') return;
    try {
      ape.runtime.reportPolicyRefusal({ code: event.code, message: event.message, source: event.source, ...(event.offeredHash ? { offered: event.offeredHash } : {}) });
    } catch (error) {
      // A failing audit sink cannot undo the refusal; the status still reports it.
      if (!(error instanceof ApeError)) throw error;
    }
  });
  return live.start();
}

/** `Ape.fromPolicy(policy, options)` watching `source` from the start (`watchApe`). */
export async function liveApe(policy: PolicyInput, options: ApeOptions & { source: PolicySource; reload?: LivePolicyOptions }): Promise<Ape> {
  const { source, reload, ...apeOptions } = options;
  const ape = await Ape.fromPolicy(policy, apeOptions);
  try {
    watchApe(ape, source, reload ?? {});
  } catch (error) {
    await ape.close();
    throw error;
  }
  return ape;
}
