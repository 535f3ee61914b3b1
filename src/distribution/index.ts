/** Policy distribution: policy sources (file, URL, webhook), live reload with signed bundles, and a bundle server for OPA fleets. */
export { PolicyFetchError, BundleFormatError, BundleSignatureError, PolicyRollbackError, PolicySwapError, DistributionOptionError } from './errors.js';
export type { PolicyDocument, PolicySource, SourceListener } from './sources/types.js';
export { FilePolicySource, type FileSourceOptions } from './sources/file.js';
export { UrlPolicySource, LONG_POLL_CONTENT_TYPE, type UrlSourceOptions } from './sources/url.js';
export { BundleVerifier, SIGNATURES_FILE, type VerificationKey, type VerificationKeys } from './signature.js';
export { distributionBundle, distributionFiles, openBundle, isGzip, POLICY_SOURCE_FILE, MAX_BUNDLE_BYTES, type OpenedBundle } from './bundle.js';
export { LivePolicy, type LivePolicyOptions, type PolicyFormat, type PolicyReloadEvent, type PolicyStatus, type ReloadOutcome, type SwapTarget } from './live.js';
export { compareVersions } from './revision.js';
export { webhookHandler, startWebhookServer, type Refreshable, type WebhookOptions } from './webhook.js';
export { BundleServer, bundlePath, type BundleServerOptions, type BundleServerEvent, type ServedBundle } from './server.js';
export { buildBundles, type BuiltBundle } from './build.js';
export { watchApe, liveApe } from './ape.js';
