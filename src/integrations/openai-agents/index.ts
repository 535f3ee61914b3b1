/** APE for OpenAI Agents JS (`@openai/agents`): `apeTool` and `apeAgentTools` decide, approve per call and run function tools through APE. */
export { apeTool, apeAgentTools } from './tools.js';
export { FrameworkApprovalError, IntegrationConfigError, type IntegrationOptions, type DenyMode, type PendingCall } from '../core/index.js';
