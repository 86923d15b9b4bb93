/**
 * The contract check: a frame a server sent, validated against the
 * committed AsyncAPI document (docs/asyncapi.json) with a JSON Schema
 * validator (ajv), never against the valibot schemas the document is
 * generated from, so a server that drifts from the published document
 * fails the test that received the frame. The tests' clients call
 * {@link checkServerFrame} on every text frame they receive; there is no
 * way to turn it off.
 *
 * Two readings of the document:
 * - `dorgu-ws` (the check): what dorgu-ws promises on top of the seed's
 *   shapes. Every field listed in `x-dorgu-ws-required` must be there, and
 *   no object may carry a field the document does not name.
 * - `seed`: the document as any JSON Schema validator reads it, ignoring
 *   the extension: what a client generated from it accepts, the seed's
 *   shapes included.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

/** The committed document. */
export const DOCUMENT_URL = new URL(
  "../../docs/asyncapi.json",
  import.meta.url,
);

/** The specification extension naming fields dorgu-ws always sends. */
const ALWAYS_SENT = "x-dorgu-ws-required";

const SERVER_TYPES = new Set(["event", "response", "error"]);

type Json = Record<string, unknown>;

/** How the document is read: see the module's documentation. */
export type Reading = "dorgu-ws" | "seed";

/** One message of the document a server may send, and how to tell it. */
interface ServerMessage {
  name: string;
  type: string;
  topic?: string;
  status?: string;
  validate: ValidateFunction;
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * A schema tree with its `$ref`s pointed at `definitions`, and, for the
 * dorgu-ws reading, every object closed and its always-sent fields
 * required.
 */
function rewrite(node: unknown, reading: Reading): unknown {
  if (Array.isArray(node)) return node.map((item) => rewrite(item, reading));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === "$ref" && typeof value === "string"
      ? value.replace("#/components/schemas/", "#/definitions/")
      : rewrite(value, reading);
  }
  if (reading === "dorgu-ws" && out.type === "object" && out.properties) {
    out.additionalProperties ??= false;
    const always = (out[ALWAYS_SENT] ?? []) as string[];
    out.required = [...new Set([...(out.required as [] ?? []), ...always])];
  }
  return out;
}

/** The document's schemas, compiled for one reading. */
interface Compiled {
  ajv: Ajv;
  /** The messages a server may send. */
  server: ServerMessage[];
}

function compile(document: Json, reading: Reading): Compiled {
  const components = document.components as Json;
  const schemas = components.schemas as Record<string, Json>;
  const ajv = new Ajv({ strict: true, allErrors: false });
  addFormats.default(ajv);
  ajv.addKeyword({ keyword: ALWAYS_SENT, schemaType: "array" });
  ajv.addSchema({
    $id: "asyncapi",
    definitions: rewrite(schemas, reading),
  });
  const messages: ServerMessage[] = [];
  const schemaOf = (ref: unknown) =>
    schemas[String((ref as Json)?.$ref).split("/").pop() as string];
  for (const [name, message] of Object.entries(components.messages as Json)) {
    const ref = String(((message as Json).payload as Json).$ref);
    const schema = schemaOf((message as Json).payload);
    const properties = schema.properties as Record<string, Json>;
    const type = properties.type.const as string;
    if (!SERVER_TYPES.has(type)) continue;
    const payload = schemaOf(properties.payload)?.properties as
      | Record<string, Json>
      | undefined;
    messages.push({
      name,
      type,
      topic: properties.topic.const as string | undefined,
      status: payload?.status?.const as string | undefined,
      validate: ajv.getSchema(
        ref.replace("#/components/schemas/", "asyncapi#/definitions/"),
      ) as ValidateFunction,
    });
  }
  return { ajv, server: messages };
}

const compiled = new Map<Reading, Compiled>();

/** The committed document, parsed. */
export function contractDocument(): Json {
  return JSON.parse(Deno.readTextFileSync(DOCUMENT_URL));
}

function compiledFor(reading: Reading): Compiled {
  let found = compiled.get(reading);
  if (!found) {
    found = compile(contractDocument(), reading);
    compiled.set(reading, found);
  }
  return found;
}

/**
 * Validates `value` against the document's schema `name` (in
 * `components.schemas`): undefined when it is valid, else what is wrong.
 */
export function violations(
  name: string,
  value: unknown,
  options: { reading?: Reading } = {},
): string | undefined {
  const validate = compiledFor(options.reading ?? "dorgu-ws").ajv.getSchema(
    `asyncapi#/definitions/${name}`,
  );
  if (!validate) throw new Error(`docs/asyncapi.json has no schema ${name}.`);
  return validate(value) ? undefined : describe(validate.errors);
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, 3).map((error) => {
    const params = Object.entries(error.params).filter(([key]) =>
      key !== "missingProperty" && key !== "type"
    );
    const detail = params.length ? ` ${JSON.stringify(error.params)}` : "";
    return `${error.instancePath || "/"} ${error.message}${detail}`;
  }).join("; ");
}

const clip = (text: string) =>
  text.length > 300 ? `${text.slice(0, 300)}...` : text;

/**
 * Checks one text frame a server sent against the document. Throws an
 * Error naming the message type, topic and schema violation when the
 * frame is not one of the document's server messages.
 */
export function checkServerFrame(
  text: string,
  options: { reading?: Reading } = {},
): void {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `Contract (docs/asyncapi.json): the server sent a frame that is not JSON (${
        (error as Error).message
      }): ${clip(text)}`,
    );
  }
  if (!isObject(frame)) {
    throw new Error(
      `Contract (docs/asyncapi.json): the server sent a frame that is not a JSON object: ${
        clip(text)
      }`,
    );
  }
  const { type, topic } = frame;
  const status = isObject(frame.payload) ? frame.payload.status : undefined;
  const candidates = compiledFor(options.reading ?? "dorgu-ws").server.filter(
    (m) =>
      m.type === type && (m.topic === undefined || m.topic === topic) &&
      m.status === status,
  );
  const what = [
    `${JSON.stringify(type)} message`,
    topic === undefined ? "with no topic" : `on topic ${JSON.stringify(topic)}`,
    status === undefined ? "" : `with status ${JSON.stringify(status)}`,
  ].filter(Boolean).join(" ");
  if (candidates.length === 0) {
    throw new Error(
      `Contract (docs/asyncapi.json): the server sent a ${what}, which the document does not define: ${
        clip(text)
      }`,
    );
  }
  const failures: string[] = [];
  for (const candidate of candidates) {
    if (candidate.validate(frame)) return;
    failures.push(
      `as ${candidate.name}: ${describe(candidate.validate.errors)}`,
    );
  }
  throw new Error(
    `Contract (docs/asyncapi.json): the server sent a ${what} that breaks it, ${
      failures.join("; ")
    }. Frame: ${clip(text)}`,
  );
}
