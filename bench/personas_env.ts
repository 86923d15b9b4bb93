/**
 * A real kube-apiserver holding `count` realistic ApplicationPersonas in
 * 40 namespaces, for the benchmarks that start dorgu-ws against one.
 *
 * @module
 */
import { Envtest } from "../tests/support/envtest.ts";
import { realisticPersona } from "./ingest.ts";

/** Starts the API server, installs the CRDs and creates the personas. */
export async function envWithPersonas(count: number): Promise<Envtest> {
  const env = await Envtest.start();
  try {
    await env.installCrds();
    for (let team = 0; team < 40; team++) {
      await env.ensureNamespace(`team-${team}`);
    }
    const objects = Array.from({ length: count }, (_, i) => {
      const object = realisticPersona(i, 1) as {
        metadata: Record<string, unknown>;
      };
      object.metadata = {
        name: object.metadata.name,
        namespace: object.metadata.namespace,
      };
      return object;
    });
    for (let i = 0; i < objects.length; i += 20) {
      await Promise.all(
        objects.slice(i, i + 20).map((object) => env.apply([object])),
      );
    }
    return env;
  } catch (error) {
    await env.stop();
    throw error;
  }
}
