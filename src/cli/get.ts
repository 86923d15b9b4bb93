/**
 * `dorgu-ws get`: one request, printed as kubectl prints it (a table,
 * `-o wide`, `-o name`, or a `kind: List` in JSON or YAML), and with `-w`
 * the table followed by a row for each change.
 *
 * @module
 */
import {
  type ClusterEvent,
  type DeploymentEvent,
  type EventMessage,
  type EventsTopicPayload,
  type PersonaEvent,
  type PersonaSummary,
  viewEvent,
} from "../protocol/mod.ts";
import { type Follower, type Listed, ServerError } from "../client/mod.ts";
import { clientFor, followerFor, type FollowSink } from "./follow.ts";
import { columnsFor, detectStyle, TableWriter } from "./format.ts";
import {
  itemsOf,
  listingExtras,
  qualifiedName,
  serverFilter,
  wanted,
  wantedItems,
} from "./items.ts";
import type { ClientOptions } from "./options.ts";
import { writeLine } from "./output.ts";
import { RESOURCES } from "./resources.ts";

/** Runs `get`; resolves to the exit code. */
export async function runGet(
  options: ClientOptions,
  signal: AbortSignal,
): Promise<number> {
  if (options.follow !== "no") {
    const sink = new RowSink(options);
    const follower = followerFor(options, sink, signal);
    sink.follower = follower;
    await follower.run();
    return 0;
  }
  const response = await clientFor(options).request(options.topic, {
    ...serverFilter(options),
    ...listingExtras(options),
  }).catch((error) => {
    if (!noClusterYet(options, error)) throw error;
    return error as ServerError;
  });
  if (response instanceof ServerError) {
    // Nothing to list is no error, as kubectl has it: the server's sentence
    // on stderr for people, an empty List for scripts, exit 0.
    if (options.output === "json" || options.output === "yaml") {
      await print(options, []);
    } else console.error(response.message);
    return 0;
  }
  const items = wantedItems(options, response.payload);
  await print(options, items);
  return reportMissing(options, itemsOf(options.topic, response.payload));
}

// `get cp` in a cluster the operator has not described yet (a name asked
// for and not found stays an error).
function noClusterYet(options: ClientOptions, error: unknown): boolean {
  return options.topic === "cluster" && options.names.length === 0 &&
    error instanceof ServerError && error.code === "not_found";
}

async function print(options: ClientOptions, items: unknown[]): Promise<void> {
  const { topic, output } = options;
  if (output === "json" || output === "yaml") {
    // One named object prints as itself; anything else as a List, as
    // kubectl prints them.
    const document = options.names.length === 1 && items.length === 1
      ? items[0]
      : {
        apiVersion: "v1",
        items,
        kind: "List",
        metadata: { resourceVersion: "" },
      };
    if (output === "json") {
      writeLine(JSON.stringify(document, null, 4));
    } else {
      const { dump } = await import("js-yaml");
      writeLine(dump(document).trimEnd());
    }
    return;
  }
  if (items.length === 0) {
    if (options.names.length === 0) {
      console.error(
        `No ${RESOURCES[topic].names[0]} found${
          options.namespace ? ` in namespace ${options.namespace}` : ""
        }.`,
      );
    }
    return;
  }
  if (output === "name") {
    for (const item of items) writeLine(qualifiedName(topic, item));
    return;
  }
  const table = new TableWriter(tableColumns(options), detectStyle());
  const rows = topic === "events"
    ? (items as EventsTopicPayload[]).map(viewEvent)
    : items;
  for (const line of table.lines(rows as never[], options)) writeLine(line);
}

function tableColumns(options: ClientOptions) {
  return columnsFor(options.topic, {
    wide: options.output === "wide",
    namespace: options.namespace === undefined,
  });
}

// Names asked for that the server does not have: one line each, exit 1.
function reportMissing(options: ClientOptions, found: unknown[]): number {
  if (options.topic === "cluster") return 0;
  const names = new Set(found.map((item) => (item as { name: string }).name));
  const missing = options.names.filter((name) => !names.has(name));
  const { kind, names: [plural] } = RESOURCES[options.topic];
  for (const name of missing) {
    const where = options.namespace
      ? ` in namespace ${options.namespace}`
      : " in any namespace";
    console.error(
      `dorgu-ws: ${
        kind.split(".")[0]
      } "${name}" not found${where}; list them with 'dorgu-ws get ${plural}${
        options.namespace ? ` -n ${options.namespace}` : ""
      }'.`,
    );
  }
  return missing.length > 0 ? 1 : 0;
}

type Row = Record<string, unknown>;

/**
 * `get -w`: the listing as a table, then one row per change, lined up
 * under it. Persona and cluster events carry only some columns, so their
 * rows are the listed row with the change applied; a persona the listing
 * did not have, and a changed cluster, are looked up.
 */
class RowSink implements FollowSink {
  follower: Follower | undefined;
  readonly #options: ClientOptions;
  readonly #table: TableWriter<never>;
  readonly #rows = new Map<string, Row>();
  #headed = false;

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#table = new TableWriter(tableColumns(options), detectStyle());
  }

  listed({ response }: Listed): void {
    if (!response) return;
    const { topic } = this.#options;
    if (topic !== "events") {
      for (const item of itemsOf(topic, response.payload)) {
        this.#rows.set(key(item as Row), item as Row);
      }
    }
    this.#print(wantedItems(this.#options, response.payload) as Row[]);
  }

  async event(message: EventMessage): Promise<void> {
    const row = await this.#rowFor(message);
    if (row && wanted(this.#options, row)) this.#print([row]);
  }

  #print(rows: Row[]): void {
    const { topic, output } = this.#options;
    if (output === "name") {
      for (const row of rows) writeLine(qualifiedName(topic, row));
      return;
    }
    if (rows.length === 0) return;
    const shown = topic === "events"
      ? (rows as unknown as EventsTopicPayload[]).map(viewEvent)
      : rows;
    const lines = this.#headed
      ? shown.map((row) => this.#table.row(row as never))
      : this.#table.lines(shown as never[], this.#options);
    this.#headed = true;
    for (const line of lines) writeLine(line);
  }

  async #rowFor(message: EventMessage): Promise<Row | undefined> {
    const { topic } = this.#options;
    const payload = message.payload as unknown as Row;
    if (topic === "events") return payload;
    const { eventType: _, ...fields } = payload;
    const previous = this.#rows.get(key(payload));
    let row: Row | undefined;
    if (topic === "deployments") {
      row = fields;
    } else if (topic === "personas") {
      const { phase, health } = payload as unknown as PersonaEvent;
      row = previous
        ? { ...previous, phase, health }
        : await this.#lookUp(payload) ??
          unknownPersona(payload as unknown as PersonaEvent) as unknown as Row;
    } else {
      const event = payload as unknown as ClusterEvent;
      const merged = {
        ...(previous ?? {}),
        name: event.name,
        phase: event.phase,
        nodeCount: event.nodeCount,
        applicationCount: event.applicationCount,
      };
      // An update may change the version or addons, which events omit.
      row = event.eventType === "updated" && !event.deleted
        ? await this.#lookUp(payload) ?? merged
        : merged;
    }
    if ((payload as unknown as DeploymentEvent).eventType === "deleted") {
      this.#rows.delete(key(payload));
    } else if (row) this.#rows.set(key(payload), row);
    return row;
  }

  // The current row, from the server; undefined if it cannot say.
  async #lookUp(payload: Row): Promise<Row | undefined> {
    const { topic } = this.#options;
    const name = String(payload.name);
    const query = topic === "cluster"
      ? { name }
      : { namespace: String(payload.namespace), name };
    try {
      const answer = await this.follower!.request(topic, query);
      return itemsOf(topic, answer.payload)[0] as Row | undefined;
    } catch {
      return undefined;
    }
  }
}

function key(item: Row): string {
  return `${item.namespace ?? ""}/${item.name}`;
}

function unknownPersona(event: PersonaEvent): PersonaSummary {
  return {
    namespace: event.namespace,
    name: event.name,
    appName: "<unknown>",
    type: "<unknown>",
    tier: "<unknown>",
    phase: event.phase,
    health: event.health,
  };
}
