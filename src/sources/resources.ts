/**
 * The four Kubernetes resources dorgu-ws follows, with what both sources
 * need to recognize them: API group and version, kind, plural, scope.
 *
 * @module
 */

/** Short names for the four resources. */
export const RESOURCES = [
  "personas",
  "clusters",
  "deployments",
  "events",
] as const;

/** One of {@link RESOURCES}. */
export type Resource = typeof RESOURCES[number];

/** Where a resource lives in the Kubernetes API. */
export interface ResourceInfo {
  /** API group; "" for the core group. */
  group: string;
  /** API version. */
  version: string;
  /** `kind` of its objects. */
  kind: string;
  /** Plural used in API paths. */
  plural: string;
  /** Whether objects live in namespaces. */
  namespaced: boolean;
}

/** API coordinates of each resource. */
export const RESOURCE_INFO: Readonly<Record<Resource, ResourceInfo>> = {
  personas: {
    group: "dorgu.io",
    version: "v1",
    kind: "ApplicationPersona",
    plural: "applicationpersonas",
    namespaced: true,
  },
  clusters: {
    group: "dorgu.io",
    version: "v1",
    kind: "ClusterPersona",
    plural: "clusterpersonas",
    namespaced: false,
  },
  deployments: {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
  },
  events: {
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    namespaced: true,
  },
};

/** `group/version`, or `version` for the core group, as `apiVersion` reads. */
export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/**
 * How logs and `/ready` name a resource's listing: `plural.group/version`
 * as kubectl spells a grouped resource, `plural (v1)` for the core group
 * (whose group is empty, so `events/v1` would read as a group "events"),
 * and where it is listed.
 */
export function listingLabel(info: ResourceInfo, namespace?: string): string {
  const name = info.group
    ? `${info.plural}.${info.group}/${info.version}`
    : `${info.plural} (${info.version})`;
  if (!info.namespaced) return name;
  return namespace
    ? `${name} in namespace ${namespace}`
    : `${name} in all namespaces`;
}

/** Where a resource is listed: the whole cluster, or one namespace. */
export function collectionPath(info: ResourceInfo, namespace?: string): string {
  const base = info.group
    ? `/apis/${info.group}/${info.version}`
    : `/api/${info.version}`;
  return namespace && info.namespaced
    ? `${base}/namespaces/${namespace}/${info.plural}`
    : `${base}/${info.plural}`;
}

/** The resource a manifest's `apiVersion` and `kind` denote, if any. */
export function resourceOfManifest(
  apiVersion: unknown,
  kind: unknown,
): Resource | undefined {
  return RESOURCES.find((resource) => {
    const info = RESOURCE_INFO[resource];
    return info.kind === kind && apiVersionOf(info) === apiVersion;
  });
}
