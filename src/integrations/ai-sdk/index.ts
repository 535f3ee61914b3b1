/** APE for the Vercel AI SDK (`ai` 7): `apeTools` guards each tool's execution, `apeToolApproval` decides before a human is asked. */
export { apeTools } from './tools.js';
export { apeToolApproval } from './approval.js';
export { FrameworkApprovalError, IntegrationConfigError, type IntegrationOptions, type DenyMode, type PendingCall, type RefusalResult } from '../core/index.js';
