/** The OPA integration: CLI discovery, bundles (signed or not), WASM builds and the compile targets' building blocks. */
export { findOpa, runOpa, PROJECT_ROOT, type OpaOutput } from './cli.js';
export { OpaNotFoundError, OpaCommandError, OpaCapabilityError, BundleOptionError, OPA_INSTALL_COMMAND, OPA_VERSION } from './errors.js';
export { policyBundle, bundleFiles, bundleRoot, type BundleOptions } from './bundle.js';
export { signatureFile, bundleFileHash, signingAlgorithm, SIGNING_ALGORITHMS, type SigningAlgorithm, type SigningOptions } from './signing.js';
export { buildWasmBundle, buildWasmBundleFromRego, cachedWasmBundle, wasmCacheDir } from './wasm.js';
export { WASM_NATIVE_BUILTINS, wasmCapabilities } from './capabilities.js';
export { readTarGz, writeTarGz, type ArchiveFile } from './tar.js';
export { toDecisionResult, OpaUndefinedDecisionError, OpaInvalidDecisionError } from './decision.js';
export { opaCanonicalJson } from './canonical-json.js';
