/** Typed errors of policy distribution: fetching, bundle format, signatures, rollbacks, swaps, the bundle server. */
import { ApeError } from '../errors.js';

/** A policy source could not deliver a document (HTTP status, timeout, unreadable file, oversized body). */
export class PolicyFetchError extends ApeError {
  /** The source, as `PolicySource.description` names it. */
  readonly source: string;
  constructor(source: string, message: string) {
    super('APE_POLICY_FETCH', `${source}: ${message}`);
    this.source = source;
  }
}

/** A fetched document is not a policy bundle APE can read (not gzip/tar, no manifest, no policy source, inconsistent revision). */
export class BundleFormatError extends ApeError {
  constructor(message: string) {
    super('APE_BUNDLE_FORMAT', message);
  }
}

/** A bundle's `.signatures.json` is missing, malformed, signed by an unpinned key or algorithm, or does not match the files. */
export class BundleSignatureError extends ApeError {
  constructor(message: string) {
    super('APE_BUNDLE_SIGNATURE', message);
  }
}

/** A fetched policy is older than the current one (lower version, or a revision already replaced): refused. */
export class PolicyRollbackError extends ApeError {
  readonly currentVersion: string;
  readonly offeredVersion: string;
  readonly offeredHash: string;
  constructor(currentVersion: string, offeredVersion: string, offeredHash: string, reason: string) {
    super('APE_POLICY_ROLLBACK', `refused a rollback from version ${currentVersion} to ${offeredVersion} (${offeredHash}): ${reason}`);
    this.currentVersion = currentVersion;
    this.offeredVersion = offeredVersion;
    this.offeredHash = offeredHash;
  }
}

/** A new policy compiled but could not be installed (the swap target refused it, e.g. an engine failed to load it). */
export class PolicySwapError extends ApeError {
  constructor(message: string) {
    super('APE_POLICY_SWAP', message);
  }
}

/** Options of a policy source, a live policy or the bundle server are invalid. */
export class DistributionOptionError extends ApeError {
  constructor(message: string) {
    super('APE_DISTRIBUTION_OPTION', message);
  }
}
