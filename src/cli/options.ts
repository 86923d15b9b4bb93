/**
 * The client's flags and how `get` and `watch` command lines become
 * options. The client reads no server variable: only its flags,
 * `DORGU_WS_URL`, `DORGU_WS_TOKEN` and its config file.
 *
 * @module
 */
import * as v from "valibot";
import {
  formatFlags,
  oneOf,
  type ParsedFlags,
  parseDuration,
  parseFlags,
  parseInteger,
  sourceOf,
  UsageError,
} from "../flags.ts";
import {
  MAX_EVENTS_LIMIT,
  NamespaceSchema,
  type Topic,
} from "../protocol/mod.ts";
import { CLIENT_FLAGS, EVENT_FLAGS, flagsOf } from "./client_flags.ts";
import { type EventFilter, parseFor } from "./events.ts";
import {
  describeResources,
  resolveTopic,
  RESOURCES,
  splitPositionals,
} from "./resources.ts";
import { parseSelector, type Requirement, selectorKeys } from "./selector.ts";
import { resolveTarget, type Target } from "./settings.ts";

const USAGE = {
  get:
    "Usage: dorgu-ws get RESOURCE [NAME...] [-n NS | -A] [-o table|wide|name|json|yaml] [-w]",
  watch:
    "Usage: dorgu-ws watch RESOURCE [NAME...] [-n NS | -A] [-o text|json] [--watch-only]",
} as const;

const EXAMPLES = {
  get:
    `  # Straight from the cluster of a kubeconfig context, as kubectl reads it
  dorgu-ws get personas --context prod
  dorgu-ws get ap order-service -n production --kubeconfig ~/.kube/staging.yaml

  # Every ApplicationPersona, then one by name, then the failing ones
  dorgu-ws get personas
  dorgu-ws get ap order-service -n production
  dorgu-ws get ap -A -l phase=Failed

  # Deployments with their images; names only, for scripts
  dorgu-ws get deploy -n staging -o wide
  dorgu-ws get deploy -o name

  # Warnings about one persona, oldest first, as kubectl events lists them
  dorgu-ws get events --type Warning --for persona/payment-gateway

  # The cluster as YAML, from a server named in the config file
  dorgu-ws get cp -o yaml --server prod

  # List, then print each change as a row
  dorgu-ws get personas -n production -w`,
  watch: `  # The personas now, then every change, one line each
  dorgu-ws watch personas

  # The same straight from the cluster of a kubeconfig context
  dorgu-ws watch personas -n production --context prod

  # Changes only, in one namespace, as JSON lines for jq
  dorgu-ws watch deploy -n production --watch-only -o json

  # Validation results and Warning events as they come
  dorgu-ws watch events --type Warning

  # Stop at the first failure (exits once grep has its line)
  dorgu-ws watch ap | grep -m1 Failed`,
};

/** `get` or `watch` help. */
export function clientHelp(command: "get" | "watch"): string {
  const what = command === "get"
    ? "Lists personas, the cluster, deployments or events, as kubectl get does."
    : "Prints the current state (or, for events, the history), then every change\nas one timestamped line, until Ctrl+C. Reconnects and resumes by itself.";
  return `${USAGE[command]}

${what}

Resources: ${describeResources()}.

Examples:
${EXAMPLES[command]}

Flags:
${formatFlags(flagsOf(command))}

With --context or --kubeconfig the client reads the cluster itself, with
your own credentials and RBAC, and needs no dorgu-ws server; --context alone
reads $KUBECONFIG, then ~/.kube/config, as kubectl does. Otherwise it talks
to a dorgu-ws server. It reads its own settings only: flags, DORGU_WS_URL,
DORGU_WS_TOKEN, and named servers (or clusters) in
$XDG_CONFIG_HOME/dorgu-ws/config.yaml (~/.config/dorgu-ws/config.yaml).`;
}

/** A `get` or `watch` command line, checked. */
export interface ClientOptions {
  /** `get` or `watch`. */
  command: "get" | "watch";
  /** What to list or follow. */
  topic: Topic;
  /** Only these objects, by name; empty for all. */
  names: string[];
  /** One namespace; undefined for all. */
  namespace?: string;
  /** Output format. */
  output: string;
  /** Print table headers. */
  headers: boolean;
  /** `-l` requirements. */
  selector: Requirement[];
  /** List only; list then follow; or follow only. */
  follow: "no" | "after-listing" | "only";
  /** `events` filters. */
  events: EventFilter;
  /** `--limit`: the newest N events. */
  limit?: number;
  /** Server and token. */
  target: Target;
  /** Connect and reply timeout, ms. */
  timeoutMs: number;
}

const OUTPUTS = {
  get: ["table", "wide", "name", "json", "yaml"],
  watch: ["text", "json"],
} as const;

/** Parses a `get` or `watch` command line; `"help"` for `--help`. */
export async function parseClientArgs(
  command: "get" | "watch",
  args: string[],
): Promise<ClientOptions | "help"> {
  const usage = (message: string) =>
    new UsageError(`${message}\n${USAGE[command]}`);
  try {
    const parsed = parseFlags(args, flagsOf(command), {
      command: `dorgu-ws ${command}`,
    });
    if (parsed.values.help) return "help";
    return await checkOptions(command, parsed);
  } catch (error) {
    if (error instanceof UsageError) throw usage(error.message);
    throw error;
  }
}

async function checkOptions(
  command: "get" | "watch",
  parsed: ParsedFlags,
): Promise<ClientOptions> {
  const { word, names } = splitPositionals(parsed.positionals);
  const topic = checkTopic(command, word);
  const { output, follow } = checkOutput(command, topic, parsed);
  const namespaceFlag = checkNamespace(topic, word, parsed);
  checkNames(command, topic, names);
  const events = checkEventFlags(command, topic, parsed);
  const text = (name: string) => flagText(parsed, name);
  const selectorRaw = text("selector");
  const selector = selectorRaw === undefined ? [] : parseSelector(selectorRaw, {
    keys: selectorKeys(topic, command === "watch"),
    what: `-l for ${RESOURCES[topic].names[0]}`,
  });
  const { target, timeoutMs } = await checkServer(parsed);
  const namespace =
    !RESOURCES[topic].namespaced || parsed.values["all-namespaces"] === true
      ? undefined
      : namespaceFlag ?? target.namespace;
  return {
    command,
    topic,
    names,
    namespace,
    output,
    headers: parsed.values["no-headers"] !== true,
    selector,
    follow,
    events: events.filter,
    limit: events.limit,
    target,
    timeoutMs,
  };
}

function flagText(parsed: ParsedFlags, name: string): string | undefined {
  return parsed.values[name] as string | undefined;
}

function checkTopic(command: "get" | "watch", word: string | undefined): Topic {
  const topic = word === undefined ? undefined : resolveTopic(word);
  if (topic !== undefined) return topic;
  throw new UsageError(
    `${
      word === undefined
        ? `${command[0].toUpperCase()}${command.slice(1)} what?`
        : `Cannot ${command} '${word}'.`
    } Choose ${describeResources()}.`,
  );
}

// `-o`, `-w` and `--watch-only`: what is printed, and whether it follows.
function checkOutput(
  command: "get" | "watch",
  topic: Topic,
  parsed: ParsedFlags,
): { output: string; follow: ClientOptions["follow"] } {
  const flag = (name: string) => parsed.values[name] === true;
  const outputs: readonly string[] = OUTPUTS[command];
  const output = flagText(parsed, "output") ?? outputs[0];
  if (!outputs.includes(output)) {
    throw new UsageError(
      `${sourceOf(parsed, "output")} must be ${
        oneOf(outputs)
      }, got '${output}'.`,
    );
  }
  if (flag("watch") && flag("watch-only")) {
    throw new UsageError("-w and --watch-only overlap; pass one of them.");
  }
  const follow = command === "watch"
    ? flag("watch-only") ? "only" : "after-listing"
    : flag("watch")
    ? "after-listing"
    : flag("watch-only")
    ? "only"
    : "no";
  if (
    follow !== "no" && command === "get" &&
    !["table", "wide", "name"].includes(output)
  ) {
    throw new UsageError(
      `get -w prints table rows; for JSON lines run 'dorgu-ws watch ${
        RESOURCES[topic].names[0]
      } -o json'.`,
    );
  }
  return { output, follow };
}

// `-n` and `-A`: the namespace flag, checked.
function checkNamespace(
  topic: Topic,
  word: string | undefined,
  parsed: ParsedFlags,
): string | undefined {
  const namespace = flagText(parsed, "namespace");
  if (namespace === undefined) return undefined;
  if (parsed.values["all-namespaces"] === true) {
    throw new UsageError(
      "-n and -A contradict each other; pass -n NS for one namespace or -A for all.",
    );
  }
  if (!RESOURCES[topic].namespaced) {
    throw new UsageError(
      `ClusterPersonas are cluster-scoped: -n does not apply to ${word}; drop it.`,
    );
  }
  const checked = v.safeParse(NamespaceSchema, namespace);
  if (!checked.success) {
    throw new UsageError(
      `-n '${namespace}' is not a namespace name: ${checked.issues[0].message}`,
    );
  }
  return namespace;
}

function checkNames(
  command: "get" | "watch",
  topic: Topic,
  names: string[],
): void {
  if (topic === "events" && names.length > 0) {
    throw new UsageError(
      `${command} events takes no NAME; to see the events about one object use --for KIND/NAME, e.g. --for persona/${
        names[0]
      }.`,
    );
  }
  if (topic === "cluster" && names.length > 1) {
    throw new UsageError(
      `${command} cluster takes one NAME at most, got ${names.length}.`,
    );
  }
}

// `--type`, `--reason`, `--for` and `--limit`: events only.
function checkEventFlags(
  command: "get" | "watch",
  topic: Topic,
  parsed: ParsedFlags,
): { filter: EventFilter; limit?: number } {
  const text = (name: string) => flagText(parsed, name);
  const given = EVENT_FLAGS.filter((name) => parsed.values[name] !== undefined);
  if (topic !== "events" && given.length > 0) {
    throw new UsageError(
      `--${
        given[0]
      } applies to events only; run 'dorgu-ws ${command} events --${
        given[0]
      } ...'.`,
    );
  }
  const forRaw = text("for");
  const about = forRaw === undefined ? undefined : parseFor(forRaw);
  if (forRaw !== undefined && !about) {
    throw new UsageError(
      `--for must be KIND/NAME, such as persona/storefront or deploy/api, got '${forRaw}'.`,
    );
  }
  const type = text("type");
  if (type !== undefined && !/^(normal|warning)$/i.test(type)) {
    throw new UsageError(`--type must be Normal or Warning, got '${type}'.`);
  }
  const limitRaw = text("limit");
  const limit = limitRaw === undefined
    ? undefined
    : parseInteger(limitRaw, "--limit", { min: 1, max: MAX_EVENTS_LIMIT });
  return { filter: { type, reason: text("reason"), about }, limit };
}

// The server, the token, TLS and the timeout: flags, DORGU_WS_*, the file.
async function checkServer(
  parsed: ParsedFlags,
): Promise<{ target: Target; timeoutMs: number }> {
  const text = (name: string) => flagText(parsed, name);
  const timeoutMs = parseDuration(
    text("timeout") ?? CLIENT_FLAGS.timeout.default!,
    sourceOf(parsed, "timeout"),
  );
  const fromEnv = (name: string) =>
    parsed.sources[name]?.startsWith("DORGU_WS_") ? text(name) : undefined;
  const fromFlag = (name: string) =>
    parsed.sources[name]?.startsWith("--") ? text(name) : undefined;
  const target = await resolveTarget({
    url: fromFlag("url"),
    envUrl: fromEnv("url"),
    server: text("server"),
    token: fromFlag("token"),
    envToken: fromEnv("token"),
    caFile: text("ca-file"),
    insecure: parsed.values["insecure-skip-tls-verify"] === true,
    context: text("context"),
    kubeconfig: text("kubeconfig"),
  });
  return { target, timeoutMs };
}
