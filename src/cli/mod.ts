/**
 * The client commands, `dorgu-ws watch` and `dorgu-ws get`. This path
 * imports only the protocol: never the server, the hub or the Kubernetes
 * client.
 *
 * @module
 */
import {
  type FlagSpecs,
  formatFlags,
  parseDuration,
  parseFlags,
  UsageError,
} from "../flags.ts";
import {
  type ClusterInfo,
  type DeploymentSummary,
  type EventMessage,
  NamespaceSchema,
  type PersonaSummary,
  type Position,
  type ResponseMessage,
  type SubscribedPayload,
  type Topic,
} from "../protocol/mod.ts";
import * as v from "valibot";
import { ClientError, Connection, ServerError } from "./connection.ts";
import {
  clusterTable,
  deploymentsTable,
  detectStyle,
  eventLine,
  personasTable,
  type Style,
} from "./format.ts";

const CLIENT_FLAGS: FlagSpecs = {
  url: {
    type: "string",
    value: "URL",
    help: "The server's WebSocket endpoint",
    default: "ws://localhost:9090/ws",
  },
  namespace: {
    type: "string",
    short: "n",
    value: "NS",
    help: "Only this namespace",
  },
  output: {
    type: "string",
    short: "o",
    value: "FORMAT",
    help: "get: table, json or yaml; watch: text or json (one message a line)",
  },
  timeout: {
    type: "string",
    value: "DUR",
    help: "How long to wait to connect and for each reply",
    default: "10s",
  },
  token: {
    type: "string",
    value: "TOKEN",
    help: "Bearer token, for servers run with --auth token",
  },
  help: { type: "boolean", short: "h", help: "Show this help", env: false },
};

const USAGE = {
  watch:
    "Usage: dorgu-ws watch personas|cluster|events|deployments [-n NAMESPACE] [-o text|json] [--url URL]",
  get:
    "Usage: dorgu-ws get personas|cluster|deployments [-n NAMESPACE] [-o table|json|yaml] [--url URL]",
} as const;

interface ClientOptions {
  topic: Topic;
  url: string;
  namespace?: string;
  output: string;
  timeoutMs: number;
  token?: string;
}

function parse(
  command: "watch" | "get",
  args: string[],
): ClientOptions | "help" {
  const usage = USAGE[command];
  let parsed;
  try {
    parsed = parseFlags(args, CLIENT_FLAGS, {
      command: `dorgu-ws ${command}`,
      maxPositionals: 1,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const topics = command === "watch"
    ? ["personas", "cluster", "events", "deployments"]
    : ["personas", "cluster", "deployments"];
  const topic = positionals[0];
  if (!topic || !topics.includes(topic)) {
    throw new UsageError(
      `${topic ? `cannot ${command} '${topic}'` : `${command} what?`}; choose ${
        topics.join(", ")
      }.\n${usage}`,
    );
  }
  const outputs = command === "watch"
    ? ["text", "json"]
    : ["table", "json", "yaml"];
  const output = (values.output as string | undefined) ?? outputs[0];
  if (!outputs.includes(output)) {
    throw new UsageError(
      `-o must be ${outputs.join(", ")}, got '${output}'.\n${usage}`,
    );
  }
  const namespace = values.namespace as string | undefined;
  if (namespace !== undefined && !v.is(NamespaceSchema, namespace)) {
    throw new UsageError(`'${namespace}' is not a namespace name.\n${usage}`);
  }
  if (namespace !== undefined && topic === "cluster") {
    throw new UsageError(
      `the cluster is cluster-scoped: -n does not apply.\n${usage}`,
    );
  }
  const url = (values.url as string | undefined) ?? "ws://localhost:9090/ws";
  if (!/^wss?:\/\/[^/]/.test(url)) {
    throw new UsageError(
      `--url must be a ws:// or wss:// URL, got '${url}'.\n${usage}`,
    );
  }
  return {
    topic: topic as Topic,
    url,
    namespace,
    output,
    timeoutMs: parseDuration(
      (values.timeout as string | undefined) ?? "10s",
      "--timeout",
    ),
    token: values.token as string | undefined,
  };
}

/** Runs `watch` or `get`; resolves to the exit code. */
export async function runClient(
  command: "watch" | "get",
  args: string[],
): Promise<number> {
  const options = parse(command, args);
  if (options === "help") {
    console.log(`${USAGE[command]}\n\nFlags:\n${formatFlags(CLIENT_FLAGS)}`);
    return 0;
  }
  try {
    return command === "get" ? await get(options) : await watch(options);
  } catch (error) {
    if (error instanceof ClientError) {
      console.error(`dorgu-ws: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}

function query(options: ClientOptions): Record<string, unknown> {
  return options.namespace ? { namespace: options.namespace } : {};
}

async function get(options: ClientOptions): Promise<number> {
  const connection = await Connection.open(options.url, options);
  try {
    const response = await connection.call(
      "request",
      options.topic,
      query(options),
    );
    const payload = response.payload;
    if (options.output === "json") {
      console.log(JSON.stringify(payload, null, 2));
    } else if (options.output === "yaml") {
      const { dump } = await import("js-yaml");
      console.log(dump(payload).trimEnd());
    } else {
      const style = detectStyle();
      const rows = tableOf(style, options.topic, payload);
      if (rows === undefined) {
        console.error(
          `No ${options.topic} found${
            options.namespace ? ` in namespace ${options.namespace}` : ""
          }.`,
        );
      } else {
        console.log(rows);
      }
    }
    return 0;
  } finally {
    connection.close();
  }
}

function tableOf(
  style: Style,
  topic: Topic,
  payload: unknown,
): string | undefined {
  switch (topic) {
    case "personas": {
      const personas = (payload as { personas: PersonaSummary[] }).personas;
      return personas.length ? personasTable(style, personas) : undefined;
    }
    case "deployments": {
      const deployments =
        (payload as { deployments: DeploymentSummary[] }).deployments;
      return deployments.length
        ? deploymentsTable(style, deployments)
        : undefined;
    }
    case "cluster":
      return clusterTable(style, payload as ClusterInfo);
    case "events":
      return undefined;
  }
}

/**
 * Streams events until Ctrl+C. After a lost connection it reconnects with
 * capped exponential backoff and resumes where it was; when the server
 * cannot replay what was missed, it lists the current state instead and
 * says so.
 */
async function watch(options: ClientOptions): Promise<number> {
  const style = detectStyle();
  const json = options.output === "json";
  const print = (message: EventMessage | ResponseMessage) =>
    console.log(
      json
        ? JSON.stringify(message)
        : eventLine(style, message as EventMessage),
    );
  const notice = (text: string) => console.error(`dorgu-ws: ${text}`);
  // Offsets are per topic; only an unfiltered stream can spot a gap.
  const filtered = options.namespace !== undefined;

  let stopping = false;
  let connection: Connection | undefined;
  const stop = () => {
    stopping = true;
    connection?.close();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  let position: Position | undefined;
  let failures = 0;
  let lastFailure = "";
  let relisting = false;
  try {
    while (!stopping) {
      try {
        connection = await Connection.open(options.url, options);
      } catch (error) {
        if (!position) throw error;
        const wait = backoff(failures++);
        // Once per reason, not once per attempt, during a long outage.
        const message = (error as Error).message;
        if (message !== lastFailure) notice(`${message} Retrying...`);
        lastFailure = message;
        await sleep(wait, () => stopping);
        continue;
      }
      lastFailure = "";
      const open = connection;
      let skipUpTo = -1;
      const relist = async (why: string) => {
        relisting = true;
        notice(why);
        const listed = await open.call("request", options.topic, query(options))
          .catch(
            (error) => {
              if (error instanceof ServerError && error.code === "not_found") {
                return undefined;
              }
              throw error;
            },
          );
        if (listed) {
          skipUpTo = listed.offset;
          if (json) print(listed);
          else {for (const line of listedLines(listed, options.topic)) {
              print(line);
            }}
          position = {
            epoch: listed.epoch,
            offset: Math.max(position?.offset ?? 0, listed.offset),
          };
        }
        relisting = false;
      };
      // A server that breaks the protocol is not worth reconnecting to.
      let broken: ClientError | undefined;
      open.onMisunderstood = (error) => broken = error;
      open.onEvent = (message) => {
        if (message.offset <= skipUpTo || relisting) return;
        if (!filtered && position && message.offset > position.offset + 1) {
          relist(
            `missed ${
              message.offset - position.offset - 1
            } ${options.topic} events (this client fell behind); listing the current ${options.topic}.`,
          ).catch(() => open.close());
          return;
        }
        position = { epoch: position?.epoch ?? "", offset: message.offset };
        print(message);
      };
      const reply = await open.call("subscribe", options.topic, {
        ...query(options),
        ...(position ? { since: position } : {}),
      }).catch((error) => {
        open.close();
        throw error;
      });
      const subscribed = reply.payload as SubscribedPayload;
      if (position) {
        if (subscribed.recovered) {
          notice(
            `reconnected to ${options.url}; replayed ${
              subscribed.replayed ?? 0
            } missed events.`,
          );
          position = { epoch: subscribed.epoch, offset: position.offset };
        } else {
          position = { epoch: subscribed.epoch, offset: subscribed.offset };
          await relist(
            `reconnected to ${options.url}, which cannot replay what was missed (it restarted, or the events are gone); listing the current ${options.topic}.`,
          );
        }
      } else {
        position = { epoch: subscribed.epoch, offset: subscribed.offset };
      }
      failures = 0;
      const reason = await open.closed;
      if (broken) throw broken;
      if (stopping) break;
      const wait = backoff(failures++);
      notice(
        `lost the connection to ${options.url} (${reason}); reconnecting in ${
          (wait / 1000).toFixed(1)
        } s.`,
      );
      await sleep(wait, () => stopping);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
  }
  return 0;
}

/** The current state as `listed` lines, shaped like events of the topic. */
function listedLines(listed: ResponseMessage, topic: Topic): EventMessage[] {
  const payload = listed.payload as Record<string, unknown>;
  const items: unknown[] = topic === "cluster"
    ? [{
      eventType: "listed",
      ...(payload as unknown as ClusterInfo),
    }]
    : (payload[topic] as Record<string, unknown>[]).map((item) =>
      topic === "events" ? item : { eventType: "listed", ...item }
    );
  return items.map((item) => ({
    type: "event",
    topic,
    payload: item,
    timestamp: listed.timestamp,
    offset: listed.offset,
  }));
}

// Capped exponential backoff with jitter: 0.5 s doubling to 10 s.
function backoff(failures: number): number {
  const base = Math.min(10_000, 500 * 2 ** failures);
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = () => {
      if (stopped() || Date.now() - started >= ms) resolve();
      else setTimeout(tick, Math.min(100, ms));
    };
    tick();
  });
}
