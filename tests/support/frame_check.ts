/**
 * The check every frame the tests' clients receive goes through (installed
 * as the client library's `onFrame`, so no test can skip it): the published
 * contract, docs/asyncapi.json, read by a JSON Schema validator
 * (support/contract.ts). The library then reads the frame with the
 * protocol's own valibot schemas as well.
 */
import { checkServerFrame } from "./contract.ts";

/** Throws when `text` is not a message the contract allows a server to send. */
export function checkFrame(text: string): void {
  checkServerFrame(text);
}
