/**
 * The field schemas projections are built from, within Kubernetes' own
 * bounds: names and namespaces as the API server validates them, and caps
 * on every other string and list, so no object, from either source, makes
 * dorgu-ws hold or broadcast more than a bounded amount.
 *
 * Display fields accept strings, numbers and booleans, since a hand-edited
 * CRD object with `tier: 1` should still be shown rather than dropped.
 *
 * @module
 */
import * as v from "valibot";

/** Longest `metadata.name`: Kubernetes names are DNS-1123 subdomains. */
export const MAX_NAME_LENGTH = 253;
/** Longest namespace: Kubernetes namespaces are DNS-1123 labels. */
export const MAX_NAMESPACE_LENGTH = 63;
/** Longest short field (phase, type, image, node, reason, timestamp...). */
export const MAX_TEXT_LENGTH = 1024;
/** Longest message: an Event's message, a validation issue. */
export const MAX_MESSAGE_LENGTH = 4096;
/** Most entries of a list field (issues, addons, containers, conditions). */
export const MAX_LIST_ITEMS = 256;
/** Most nodes of a ClusterPersona: Kubernetes' own limit of a cluster. */
export const MAX_NODES = 5000;

const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Empty too: a namespaced object without one is in "default".
const DNS1123_LABEL = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/;

// A display field: a string, or a number or boolean shown as one (a
// hand-edited `tier: 1` is shown rather than dropped), at most `max` long.
function text(max: number) {
  return v.nullish(
    v.pipe(
      v.union([
        v.string(),
        v.pipe(v.union([v.number(), v.boolean()]), v.transform(String)),
      ]),
      v.maxLength(max, `must be at most ${max} characters`),
    ),
    "",
  );
}

/** A display field of at most {@link MAX_TEXT_LENGTH} characters. */
export const Text = text(MAX_TEXT_LENGTH);
/** A message of at most {@link MAX_MESSAGE_LENGTH} characters. */
export const Message = text(MAX_MESSAGE_LENGTH);
/** A name that is not an object's own (an app, a node), at most 253 long. */
export const ShortName = text(MAX_NAME_LENGTH);

/** A counter; absent or null reads as 0. */
export const Count = v.nullish(v.number(), 0);

/** `metadata`: the name and namespace checked as the API server does. */
export const Metadata = v.object({
  name: v.pipe(
    v.string(),
    v.minLength(1, "must not be empty"),
    v.maxLength(
      MAX_NAME_LENGTH,
      `must be at most ${MAX_NAME_LENGTH} characters`,
    ),
    v.regex(
      DNS1123_SUBDOMAIN,
      "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
    ),
  ),
  namespace: v.nullish(
    v.pipe(
      v.string(),
      v.maxLength(
        MAX_NAMESPACE_LENGTH,
        `must be at most ${MAX_NAMESPACE_LENGTH} characters`,
      ),
      v.regex(
        DNS1123_LABEL,
        "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
      ),
    ),
    "",
  ),
  uid: Text,
  creationTimestamp: Text,
  generation: v.nullish(v.number()),
});
