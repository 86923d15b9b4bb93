/**
 * The words of the AsyncAPI document (`asyncapi.ts`): what each schema and
 * field means, which fields are extensions to the seed, the close codes,
 * and what JSON Schema cannot say about what the server checks. Kept here,
 * not in the valibot schemas, so the dashboard's bundle does not carry them.
 *
 * @module
 */
import type { ErrorCode } from "./shapes.ts";

/** The specification extension naming the fields dorgu-ws always sends. */
export const ALWAYS_SENT = "x-dorgu-ws-required";

/** The document's introduction (Markdown). */
export const INTRODUCTION = `
The dorgu-ws protocol: one WebSocket at \`/ws\`, four topics multiplexed on it
by the \`topic\` field, every message one JSON object in one text frame:
\`{"type", "topic", "requestId", "payload", "timestamp"}\`. A client sends
\`subscribe\`, \`unsubscribe\` and \`request\`; the server sends \`response\`,
\`event\` and \`error\`. A reply echoes the \`requestId\` of the message it
answers.

**The seed's clients stay first-class.** dorgu-ws is a superset of the
operator's original WebSocket server. Every field the seed's messages do not
have is optional here (\`required\` lists only what a seed server sends too),
so a client generated from this document also talks to a seed server. The
fields dorgu-ws itself always sends are listed in \`${ALWAYS_SENT}\` on their
object: a client that talks only to dorgu-ws may rely on them (the \`epoch\`
and \`offset\` of every response, the \`offset\` of every event, the
\`timestamp\` of every server message). Clients must ignore fields they do
not know: new versions add fields, never remove or retype them.

**Resuming.** Each server process has a random \`epoch\`; each topic numbers
its events with \`offset\`, one up per event. Subscribe with
\`since: {epoch, offset}\` (the last offset processed) to have the missed
events replayed (\`recovered: true\`, \`replayed\`); \`recovered: false\` means
re-list with \`request\`, then apply only events with a higher offset than the
response's. A jump in offsets means the client's send buffer overflowed:
re-list.

**Authentication** (servers run with \`--auth token\` or
\`--auth kubernetes\`): \`Authorization: Bearer TOKEN\` on the upgrade, or,
from browsers, which cannot set headers on a WebSocket, the subprotocols
\`dorgu-ws\` and \`bearer.<base64url of the token, unpadded>\` in
\`Sec-WebSocket-Protocol\`; the server then selects \`dorgu-ws\`. Without
\`--auth\` no token is needed. The upgrade is refused over HTTP: 401 (token
missing or refused), 403 (an \`Origin\` not allowed), 421 (a \`Host\` not
allowed), 426 (a plain GET), 503 (too many connections, shutting down, or the
Kubernetes API unreachable for a token review; retry later).

**Limits.** An inbound message over 512 KiB (\`--max-message-size\`) closes
the connection with 1009; more than 20 messages a second (bursts of 50) get
\`rate_limited\` errors; binary frames get \`invalid_message\`. The server
pings after 30 s of silence and closes with 1001 after 60 s with nothing
heard. Events a client cannot take fast enough are dropped for it alone (its
offsets jump); replies are never dropped: a client that lets 256 of them pile
up is closed with 1008. The close codes the server sends are in
\`${"x-dorgu-ws-close-codes"}\`.
`.trim();

/** A close code the server sends, and what a client should do about it. */
export interface CloseCodeNote {
  /** When the server sends it. */
  sentWhen: string;
  /** What a client does next. */
  client: string;
  /** Whether reconnecting (with backoff, resuming with `since`) can help. */
  retry: boolean;
}

/** Every close code the server sends (RFC 6455 section 7.4.1). */
export const CLOSE_CODES: Record<number, CloseCodeNote> = {
  1000: {
    sentWhen:
      "Echoed to a client that closed with no code or with 1000 (any valid code a client sends is echoed back).",
    client: "The client ended the connection itself: nothing to do.",
    retry: false,
  },
  1001: {
    sentWhen:
      "The server is shutting down (SIGTERM), or heard nothing from the client, not even a pong, for the read timeout (60 s).",
    client: "Reconnect with backoff and resume with `since`.",
    retry: true,
  },
  1002: {
    sentWhen:
      "The client broke RFC 6455 framing: an unmasked frame, reserved bits, an unknown opcode, a control frame over 125 bytes or fragmented, an orphan continuation, a bad close code.",
    client: "A bug in the client's WebSocket library; do not retry blindly.",
    retry: false,
  },
  1007: {
    sentWhen: "A text frame or close reason that is not valid UTF-8.",
    client: "A bug in the client; do not retry blindly.",
    retry: false,
  },
  1008: {
    sentWhen:
      "A message not finished within the message timeout (10 s); a client that took no bytes for the write timeout (10 s); replies that did not fit the send buffer (256 messages or 4 MiB).",
    client:
      "Read faster or pipeline fewer requests; reconnect with backoff and resume with `since`.",
    retry: true,
  },
  1009: {
    sentWhen: "A message over the maximum message size (512 KiB by default).",
    client: "Send smaller messages; reconnecting and resending it fails again.",
    retry: false,
  },
  1013: {
    sentWhen:
      "The server ran out of file descriptors: the newest connections past the limit are closed as they arrive.",
    client: "Reconnect with backoff.",
    retry: true,
  },
};

/** What each error code means. */
export const ERROR_CODE_NOTES: Record<ErrorCode, string> = {
  invalid_json: "The frame is not JSON; it carries no requestId to echo.",
  invalid_message:
    "A field is missing or of the wrong type or value (the message names it), or the frame was binary.",
  unknown_message_type:
    "`type` is not subscribe, unsubscribe or request (server types included).",
  unknown_topic:
    "`topic` is not one of the four; the error echoes it, whatever it was.",
  not_found: "`request cluster` named a ClusterPersona that does not exist.",
  not_ready:
    "The topic's source has not finished its first list; retry shortly (`GET /ready` says when).",
  forbidden:
    "The client's token does not allow the namespace it named (`--auth`).",
  rate_limited:
    "More messages than the inbound rate limit allows; the connection is kept.",
  internal: "The server failed to answer; it logged why.",
};

/** A schema's description, and its fields'. */
export interface SchemaNote {
  /** The schema's own description. */
  description: string;
  /** Descriptions of its properties. */
  fields?: Record<string, string>;
  /**
   * Properties dorgu-ws always sends that the seed's shapes lack: optional
   * in the document's `required`, listed in {@link ALWAYS_SENT}.
   */
  alwaysSent?: string[];
}

const TIMESTAMP =
  "When the server sent it, RFC 3339 in UTC. Always sent by dorgu-ws; optional because the seed's examples of responses leave it out.";
const EPOCH =
  "Extension: the server process's random epoch, for resuming with `since`.";
const RESPONSE_FIELDS = {
  requestId: "The requestId of the message answered, when it had one.",
  timestamp: TIMESTAMP,
  epoch: EPOCH,
  offset:
    "Extension: the topic's offset when the answer was read; apply only events with a higher offset (list-then-watch without a gap or a double).",
};

/** Notes on the schemas that are the same for every topic. */
export const SCHEMA_NOTES: Record<string, SchemaNote> = {
  Topic: { description: "One of the four topics." },
  Namespace: {
    description:
      "A Kubernetes namespace: a DNS-1123 label (lower case, digits, '-'), so a typo such as `Production` is an error rather than a filter that matches nothing.",
  },
  Name: { description: "An object name (or a ClusterPersona's spec.name)." },
  RequestId: {
    description:
      "Chosen by the client and echoed on the reply (response or error). Longer ids are refused as invalid_message and not echoed.",
  },
  Timestamp: { description: "RFC 3339 in UTC, e.g. `2026-03-23T10:00:00Z`." },
  Position: {
    description:
      "Extension: a place in a topic's stream, to resume from (`since`).",
    fields: {
      epoch: "The epoch of the server process that numbered the offset.",
      offset: "The last offset the client processed.",
    },
  },
  SubscribePayload: {
    description:
      "Optional filters (an event passes when it matches every one given) and a position to resume from. Subscribing again to the same topic replaces the filters.",
    fields: {
      namespace: "Only events in this namespace.",
      name: "Extension: only events about an object of this name.",
      since: "Extension: resume after this position.",
    },
  },
  ClusterSubscribePayload: {
    description:
      "As SubscribePayload; the cluster topic is cluster-scoped, so `namespace` is refused with invalid_message.",
    fields: { namespace: "Refused: the cluster topic has no namespaces." },
  },
  NamespacedQuery: {
    description: "No namespace: all namespaces the client may see.",
    fields: { name: "Extension: only the object of this name." },
  },
  ClusterQuery: {
    description:
      "`name` matches metadata.name or spec.name; without it, the oldest ClusterPersona (then by name).",
  },
  EventsQuery: {
    description:
      "Extension: the newest events the topic still holds, oldest first.",
    fields: { limit: "How many at most; 100 without it." },
  },
  SubscribedPayload: {
    description: "The answer to subscribe.",
    fields: {
      epoch: EPOCH,
      offset:
        "Extension: the topic's offset now; live events follow from the next one.",
      recovered:
        "Extension, only with `since`: whether the missed events could be replayed. false: re-list.",
      replayed:
        "Extension, only when recovered: how many missed events follow (those the filters pass).",
    },
    alwaysSent: ["epoch", "offset"],
  },
  UnsubscribedPayload: {
    description: "The answer to unsubscribe; idempotent.",
  },
  ErrorCode: {
    description: Object.entries(ERROR_CODE_NOTES).map(([code, note]) =>
      `\`${code}\`: ${note}`
    ).join("\n"),
  },
  ErrorPayload: {
    description: "What went wrong.",
    fields: { message: "A sentence saying what was wrong and what to do." },
  },
  ErrorMessage: {
    description:
      "Sent in answer to a message that could not be served. Echoes the requestId and topic of that message when it had them, valid or not, so a client waiting on that id never hangs.",
    fields: {
      topic: "The topic of the message answered, as it was sent.",
      requestId: "The requestId of the message answered, as it was sent.",
      timestamp: TIMESTAMP,
    },
    alwaysSent: ["timestamp"],
  },
};

/** Notes shared by the messages of every topic, by message kind. */
export const MESSAGE_NOTES: Record<string, SchemaNote> = {
  Subscribe: {
    description: "Subscribe to the topic's events.",
    fields: {
      timestamp:
        "When the client sent it; the server ignores it (the seed sends RFC 3339).",
    },
  },
  Unsubscribe: { description: "Stop receiving the topic's events." },
  Request: { description: "Ask for the topic's current state." },
  Subscribed: {
    description: "The answer to subscribe; events follow it.",
    fields: RESPONSE_FIELDS,
    alwaysSent: ["timestamp", "epoch", "offset"],
  },
  Unsubscribed: {
    description: "The answer to unsubscribe.",
    fields: RESPONSE_FIELDS,
    alwaysSent: ["timestamp", "epoch", "offset"],
  },
  Response: {
    description: "The answer to request.",
    fields: RESPONSE_FIELDS,
    alwaysSent: ["timestamp", "epoch", "offset"],
  },
  Event: {
    description: "A change on the topic, pushed to its subscribers.",
    fields: {
      timestamp: TIMESTAMP,
      offset:
        "Extension: one up per event on this topic; a jump means events were missed (re-list).",
    },
    alwaysSent: ["timestamp", "offset"],
  },
};

/** Notes on the payloads of responses and events. */
export const PAYLOAD_NOTES: Record<string, SchemaNote> = {
  PersonaSummary: {
    description: "One ApplicationPersona.",
    fields: {
      appName: "spec.name",
      type: "spec.type",
      tier: "spec.tier",
      phase: "status.phase",
      health: "status.health.status",
      validation:
        "Extension: status.validation, only in answers to a request that names one persona.",
    },
  },
  ChangeType: { description: "What happened to the object." },
  ClusterEventType: {
    description:
      "`updated`, or a node entering (`nodeAdded`) or leaving (`nodeRemoved`) status.nodes.",
  },
  RolloutState: {
    description:
      "As `kubectl rollout status` judges it: `failed` when the progress deadline passed or pods cannot be created, `complete` when the newest spec is observed and every replica is updated and available, else `progressing`.",
  },
  Severity: {
    description:
      "The highest severity among the issues (error > warning > info); `none` without issues.",
  },
  InvolvedObject: { description: "The object the Event is about." },
  ValidationIssue: { description: "One issue of a persona's validation." },
  PersonaValidation: { description: "A persona's status.validation." },
  ClusterInfo: {
    description: "The ClusterPersona asked for.",
    fields: {
      name: "spec.name",
      environment: "spec.environment",
      phase: "status.phase",
      kubernetesVersion: "status.kubernetesVersion",
      platform: "status.platform",
      nodeCount: "How many nodes status.nodes lists.",
      applicationCount: "status.applicationCount",
      addons: "Names of status.addons with installed=true; [] when none.",
      nodes: "Extension: the names of the nodes nodeCount counts.",
    },
    alwaysSent: ["nodes"],
  },
  DeploymentSummary: {
    description: "Extension: one apps/v1 Deployment.",
    fields: {
      rollout: "From the Deployment's conditions and counters.",
      persona:
        "The ApplicationPersona in the same namespace whose spec.name is this Deployment's name, if any.",
    },
  },
  PersonaEvent: {
    description:
      "An ApplicationPersona was created, deleted, or changed in a summary field (not on every resourceVersion).",
  },
  ClusterEvent: {
    description:
      "A ClusterPersona changed: `updated`, or one `nodeAdded`/`nodeRemoved` per node entering or leaving status.nodes.",
    fields: {
      node: "Extension, on node events: the node's name.",
      deleted:
        "Extension: true on the last event of a ClusterPersona that was deleted.",
    },
  },
  ValidationEvent: {
    description: "A persona's status.validation changed.",
    fields: {
      kind: "Extension: tells the two kinds of events-topic payloads apart.",
      severity: "The highest of the issues' severities; `none` without issues.",
      issues: "The issues' messages.",
    },
    alwaysSent: ["kind"],
  },
  KubernetesEvent: {
    description: "Extension: a core/v1 Event.",
    fields: { lastTimestamp: "RFC 3339, or empty when the Event has none." },
  },
  EventsTopicPayload: {
    description:
      "What the events topic carries: a ValidationEvent (`kind` validation, or no `kind` from a seed server) or a KubernetesEvent (`kind` kubernetes).",
  },
  DeploymentEvent: { description: "Extension: a Deployment changed." },
  PersonasListing: { description: "Sorted by namespace, then name." },
  DeploymentsListing: {
    description: "Extension: sorted by namespace, then name.",
  },
  EventsListing: { description: "Extension: the newest events, oldest first." },
};
