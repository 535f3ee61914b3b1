/** APE for LangChain.js / LangGraph.js: `apeMiddleware` for `createAgent`, `apeLangChainTools` for any graph; escalations are LangGraph interrupts. */
export { apeMiddleware } from './middleware.js';
export { apeLangChainTools } from './tools.js';
export type { ApeInterrupt, ApeResume } from './approval.js';
export { FrameworkApprovalError, IntegrationConfigError, type IntegrationOptions, type DenyMode, type PendingCall } from '../core/index.js';
