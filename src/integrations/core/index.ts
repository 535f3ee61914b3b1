/** Shared pieces of the framework integrations: the pre-decision, the approval ledger, options and refusals. */
export { precheck, type Verdict } from './decide.js';
export { ApprovalLedger, type FrameworkAnswer, type LedgerOptions, type PendingCall } from './ledger.js';
export { resolveOptions, type DenyMode, type IntegrationOptions, type ResolvedOptions } from './options.js';
export { refusalOf, refusalResult, refusalText, type RefusalResult } from './refusal.js';
export { FrameworkApprovalError, IntegrationConfigError } from './errors.js';
export { recordUserWords, contentTexts } from './origins.js';
