/**
 * The manifest policy of `validation` and `compatibility` (configuration-v3.md), compiled
 * once at start: which layer URLs a pushed manifest may name, and which children of an index
 * must already be in the repository. The rules are the reference registry's.
 */
import type { ManifestPolicyConfig } from '../config/types.js';
import { RegistryError } from '../errors/registry-error.js';
import type { ManifestChild, ManifestInfo } from '../oci/manifest.js';

/** The policy as the core applies it. */
export interface ManifestPolicy {
  /** `compatibility.schema1.enabled`. */
  schema1: boolean;
  /** Null when validation is disabled: any URL passes. */
  urls: { allow: RegExp | null; deny: RegExp | null } | null;
  indexes: ManifestPolicyConfig['indexes'];
}

/** No schema 1, no URLs, every index child checked: the reference's defaults. */
export const defaultManifestPolicy: ManifestPolicy = {
  schema1: false,
  urls: { allow: /^$/, deny: null },
  indexes: { mode: 'all', platforms: [] },
};

/** One expression matching any of `sources`, as the reference joins them; null for none. */
function anyOf(sources: readonly string[]): RegExp | null {
  if (sources.length === 0) return null;
  return new RegExp(sources.map((s) => `(?:${s})`).join('|'));
}

/**
 * Compiles the configured policy. With validation on and neither list set, no URL is
 * allowed (the reference compiles `allow` to `^$`); with only `deny`, any other URL is.
 */
export function compilePolicy(config: ManifestPolicyConfig): ManifestPolicy {
  let urls: ManifestPolicy['urls'] = null;
  if (config.urls !== null) {
    const { allow, deny } = config.urls;
    urls =
      allow.length === 0 && deny.length === 0
        ? { allow: /^$/, deny: null }
        : { allow: anyOf(allow), deny: anyOf(deny) };
  }
  return { schema1: config.schema1, urls, indexes: config.indexes };
}

/** Whether one layer URL passes: http(s), no fragment, allowed and not denied. */
function urlAllowed(text: string, rules: NonNullable<ManifestPolicy['urls']>): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.hash !== '' || text.includes('#')) return false;
  if (rules.allow !== null && !rules.allow.test(text)) return false;
  return rules.deny === null || !rules.deny.test(text);
}

/**
 * Throws `MANIFEST_INVALID` (with `MANIFEST_BLOB_UNKNOWN` for the layer, as the reference
 * reports it) when a layer names a URL the policy does not allow.
 */
export function checkLayerUrls(info: ManifestInfo, policy: ManifestPolicy): void {
  const rules = policy.urls;
  if (rules === null) return;
  for (const { digest, urls } of info.urls) {
    const refused = urls.find((url) => !urlAllowed(url, rules));
    if (refused === undefined) continue;
    throw new RegistryError('MANIFEST_INVALID', {
      digest,
      url: refused,
      reason: 'url not allowed',
    }).alsoReport('MANIFEST_BLOB_UNKNOWN', { digest });
  }
}

/** The children of an index that must already be in the repository under the policy. */
export function childrenToCheck(info: ManifestInfo, policy: ManifestPolicy): ManifestChild[] {
  const { mode, platforms } = policy.indexes;
  if (mode === 'all') return info.manifests;
  if (mode === 'none') return [];
  return info.manifests.filter(
    ({ platform }) =>
      platform !== undefined &&
      platforms.some((p) => p.os === platform.os && p.architecture === platform.architecture),
  );
}
