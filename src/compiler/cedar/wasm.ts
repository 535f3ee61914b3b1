/** The one import of cedar-wasm (its Node entry), shared by the Cedar target and the cedar adapter. */
export {
  formatPolicies,
  getCedarVersion,
  preparsePolicySet,
  preparseSchema,
  schemaToJsonWithResolvedTypes,
  statefulIsAuthorized,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
export type { AuthorizationAnswer, DetailedError, StatefulAuthorizationCall, ValidationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
