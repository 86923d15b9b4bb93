/**
 * The browser opener of `dorgu-ws dashboard`, run as the binary runs
 * against a real kube-apiserver: a fake `xdg-open` on PATH is handed a
 * private redirect file, never the secret, which goes once a browser is
 * in and when the dashboard stops; no opener at all is no error.
 */
import assert from "node:assert/strict";
import { persona } from "./support/cluster_objects.ts";
import {
  readWithSecret as status,
  spawnDashboard,
  teamCluster,
} from "./support/dashboard_cli.ts";
import { eventually } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "the browser opener gets a private redirect file, never the secret; it goes once a browser is in; SIGTERM exits 0; no opener is no error",
  ...unsanitized,
  async fn() {
    const env = await teamCluster([persona("team-a", "api")]);
    const bin = await Deno.makeTempDir();
    const seen = await Deno.makeTempDir();
    const runtime = await Deno.makeTempDir();
    await Deno.writeTextFile(
      `${bin}/xdg-open`,
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${seen}/args\nfile=\${1#file://}\ncp "$file" ${seen}/page.html\nstat -c %a "$file" "$(dirname "$file")" > ${seen}/modes.tmp\nmv ${seen}/modes.tmp ${seen}/modes\n`,
    );
    await Deno.chmod(`${bin}/xdg-open`, 0o755);
    const dashboard = await spawnDashboard(["--kubeconfig", env.kubeconfig], {
      env: { PATH: `${bin}:${Deno.env.get("PATH")}`, XDG_RUNTIME_DIR: runtime },
    });
    await eventually(() => void Deno.statSync(`${seen}/modes`));
    const args = (await Deno.readTextFile(`${seen}/args`)).trim();
    assert.match(
      args,
      new RegExp(`^file://${runtime}/dorgu-ws-dashboard\\.\\w{8}/open\\.html$`),
    );
    assert.ok(!args.includes(dashboard.secret), "the secret is on argv");
    const page = await Deno.readTextFile(`${seen}/page.html`);
    assert.ok(
      page.includes(
        `<meta http-equiv="refresh" content="0; url=${dashboard.url}">`,
      ),
      page,
    );
    assert.equal((await Deno.readTextFile(`${seen}/modes`)).trim(), "600\n700");
    const file = new URL(args).pathname;
    assert.ok(Deno.statSync(file).isFile);
    // A browser trades the secret: the file has done its job.
    const session = await fetch(`${dashboard.base}/ui/session`, {
      method: "POST",
      headers: { authorization: `Bearer ${dashboard.secret}` },
    });
    assert.equal((await session.json()).ok, true);
    await eventually(() => assert.throws(() => Deno.statSync(file)));
    assert.equal(await dashboard.process.stop("SIGTERM"), 0);
    assert.deepEqual(dashboard.process.stderr, []);

    // Stopped before any browser came: the file goes with it.
    await Deno.remove(`${seen}/modes`);
    const again = await spawnDashboard(["--kubeconfig", env.kubeconfig], {
      env: { PATH: `${bin}:${Deno.env.get("PATH")}`, XDG_RUNTIME_DIR: runtime },
    });
    await eventually(() => void Deno.statSync(`${seen}/modes`));
    assert.equal(await again.process.stop("SIGTERM"), 0);
    assert.deepEqual([...Deno.readDirSync(runtime)], []);

    // No opener at all: the URL is printed, one line says why nothing opened.
    const tools = await Deno.makeTempDir();
    for (const tool of ["sh", "mktemp", "cat", "rm"]) {
      const path = new TextDecoder().decode(
        (await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] })
          .output()).stdout,
      ).trim();
      await Deno.symlink(path, `${tools}/${tool}`);
    }
    const alone = await spawnDashboard(["--kubeconfig", env.kubeconfig], {
      env: { PATH: tools, XDG_RUNTIME_DIR: runtime },
    });
    const [line] = await alone.process.waitFor(() => true, {
      stream: "stderr",
    });
    assert.equal(
      line,
      "dorgu-ws: Could not open a browser: there is no xdg-open here to open a browser with. Open the URL above.",
    );
    await eventually(async () =>
      assert.equal((await status(alone, "/ready")).status, 200)
    );
    assert.equal(await alone.process.stop("SIGTERM"), 0);
    await env.stop();
  },
});
