/**
 * Opening the laptop dashboard in the user's browser without putting its
 * secret on any command line: every local user can list command lines
 * (`ps`), and a browser the opener starts keeps its URL in its own for as
 * long as it runs. So, as Jupyter does, the opener is handed a file: an
 * HTML page, in a new directory only this user may enter, that forwards
 * the browser to the URL. `sh` writes it from its standard input (the
 * binary holds no write permission of its own; `mktemp -d` makes the
 * directory 0700, `umask 077` the file 0600). It is removed once a browser
 * has traded the secret, and when the dashboard stops.
 *
 * The opener (`xdg-open`; `open` on macOS) starts in a session of its own,
 * so the Ctrl-C that stops the dashboard does not also stop a browser it
 * started. No opener is no error: the URL is printed anyway.
 *
 * @module
 */
import { spawn } from "node:child_process";

/** A browser being opened. */
export interface Launch {
  /** Resolves with why no browser opened, or undefined once one was asked to. */
  readonly outcome: Promise<string | undefined>;
  /** Removes the redirect file (idempotent). */
  remove(): Promise<void>;
}

const OPENERS: Partial<Record<typeof Deno.build.os, string>> = {
  linux: "xdg-open",
  darwin: "open",
  freebsd: "xdg-open",
  netbsd: "xdg-open",
};

// The per-user runtime directory first (tmpfs, 0700, emptied at logout).
const WRITE =
  `umask 077 && dir=$(mktemp -d "\${XDG_RUNTIME_DIR:-\${TMPDIR:-/tmp}}/dorgu-ws-dashboard.XXXXXXXX") && cat > "$dir/open.html" && printf %s "$dir"`;

/** Opens `url` in a browser through a private redirect file. */
export async function openInBrowser(url: string): Promise<Launch> {
  const opener = OPENERS[Deno.build.os];
  if (!opener) {
    return nothing(`this platform has no opener dorgu-ws knows`);
  }
  let dir: string;
  try {
    dir = await writeRedirect(url);
  } catch (error) {
    return nothing(
      `cannot write the redirect file (${(error as Error).message})`,
    );
  }
  const file = new URL("file:///");
  file.pathname = `${dir}/open.html`;
  let removed: Promise<void> | undefined;
  return {
    outcome: run(opener, file.href),
    remove: () =>
      removed ??= new Deno.Command("rm", { args: ["-rf", "--", dir] })
        .output().then(() => {}, () => {}),
  };
}

function nothing(reason: string): Launch {
  return { outcome: Promise.resolve(reason), remove: () => Promise.resolve() };
}

async function writeRedirect(url: string): Promise<string> {
  const child = new Deno.Command("sh", {
    args: ["-c", WRITE],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(redirectPage(url)));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  const dir = new TextDecoder().decode(stdout);
  if (!success || !dir.startsWith("/")) {
    throw new Error(new TextDecoder().decode(stderr).trim() || "sh failed");
  }
  return dir;
}

/** The page that forwards a browser to `url`, sending no Referer. */
function redirectPage(url: string): string {
  const href = url.replaceAll("&", "&amp;").replaceAll('"', "&quot;")
    .replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  return `<!doctype html>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0; url=${href}">
<title>dorgu-ws dashboard</title>
<p>Opening <a href="${href}">the dorgu-ws dashboard</a>.</p>
`;
}

// Resolves once the opener has finished asking for a browser (or failed).
function run(opener: string, target: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(opener, [target], { detached: true, stdio: "ignore" });
    child.on("error", (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === "ENOENT"
          ? `there is no ${opener} here to open a browser with`
          : `${opener} failed: ${error.message}`,
      ));
    child.on(
      "exit",
      (code) =>
        resolve(code === 0 ? undefined : `${opener} exited with ${code}`),
    );
    // Not waited for: it may run as long as the browser it started.
    child.on("spawn", () => child.unref());
  });
}
