/**
 * TLS for the server: the listener, and its renewal when the certificate
 * files change.
 *
 * Renewal binds a second listener on the same port with the new pair, hands
 * it to the transport, then closes the old one: open connections are not
 * listeners' and stay, new ones get the new certificate, and no connection
 * attempt meets a closed port. Binding twice needs `SO_REUSEPORT`
 * (`reusePort`), which Deno keeps behind `--unstable-net` for TLS listeners.
 *
 * The files are polled by content, not watched: a Kubernetes Secret volume
 * changes by swapping a symlink, which file watchers see inconsistently, and
 * cert-manager writes both files at once only through that swap.
 *
 * Loaded only when TLS is on.
 *
 * @module
 */
import { readBoundedText } from "../files.ts";
import { X509Certificate } from "node:crypto";
import type { Logger } from "../log.ts";

/** The two files of `--tls-cert-file` and `--tls-private-key-file`. */
export interface TlsFiles {
  /** PEM certificate chain, leaf first. */
  certFile: string;
  /** PEM private key of the leaf. */
  keyFile: string;
}

/** A certificate chain and its key, PEM. */
export interface TlsPair {
  /** The chain. */
  cert: string;
  /** The key. */
  key: string;
}

/** Where a TLS listener binds. */
export interface TlsAddress {
  /** Interface address. */
  hostname: string;
  /** Port; 0 for any (the first listener only). */
  port: number;
}

// A certificate chain or a key is a few KiB; a CA bundle by mistake is
// still well under this.
const MAX_TLS_FILE_BYTES = 1024 * 1024;

/** Reads both files; throws one line naming the file that cannot be read. */
export async function readPair(files: TlsFiles): Promise<TlsPair> {
  const read = async (path: string, flag: string) => {
    try {
      // Re-read every few seconds while serving: a path that became a FIFO
      // or a device must not stall renewals or hold memory.
      return await readBoundedText(path, { maxBytes: MAX_TLS_FILE_BYTES });
    } catch (error) {
      // Deno's message repeats the path after the reason.
      const reason = (error as Error).message.replace(/ \(os error.*$/, "");
      throw new Error(
        `Cannot read ${flag} ${path}: ${reason}; fix the path or the file's permissions.`,
      );
    }
  };
  const [cert, key] = await Promise.all([
    read(files.certFile, "--tls-cert-file"),
    read(files.keyFile, "--tls-private-key-file"),
  ]);
  return { cert, key };
}

/**
 * The leaf certificate's expiry, seconds since the epoch; undefined when
 * the chain cannot be parsed (the listener says why).
 */
export function certificateExpiry(pair: TlsPair): number | undefined {
  try {
    return Date.parse(new X509Certificate(pair.cert).validTo) / 1000;
  } catch {
    return undefined;
  }
}

/**
 * A TLS listener for `pair` on `address`, with `SO_REUSEPORT` so that its
 * successor can bind beside it. Throws one line when the pair is unusable.
 */
export function listenTls(address: TlsAddress, pair: TlsPair): Deno.Listener {
  try {
    return Deno.listenTls({
      hostname: address.hostname,
      port: address.port,
      cert: pair.cert,
      key: pair.key,
      // No ALPN on purpose: Deno's WebSocket client first tries HTTP/2
      // alone, and an "http/1.1" answer turns that try into an alert
      // (NoApplicationProtocol) which then hides the real failure, such
      // as an untrusted certificate. Without ALPN every client falls back
      // to HTTP/1.1 (RFC 7301), the one protocol served here.
      reusePort: true,
    });
  } catch (error) {
    const message = (error as Error).message;
    if (/--unstable-net/.test(message)) {
      throw new Error(
        "TLS needs Deno's --unstable-net flag, to renew certificates without closing the port; the dorgu-ws binary and `deno task start` have it.",
      );
    }
    if (error instanceof Deno.errors.AddrInUse) throw error;
    throw new Error(
      `The TLS certificate and key cannot be used (${message}); check that --tls-cert-file holds a PEM certificate chain and --tls-private-key-file its PEM private key.`,
    );
  }
}

/**
 * How often the files are read: cert-manager renews weeks before expiry,
 * so seconds of delay cost nothing, and a read of two small files is cheap.
 */
export const RELOAD_INTERVAL_MS = 5000;

/** TLS renewal counters, for `/metrics`. */
export interface TlsStats {
  /** Renewed pairs put to use. */
  renewed: number;
  /** Changed pairs that could not be used (the old one kept serving). */
  failed: number;
  /** The expiry of the certificate served, seconds since the epoch. */
  expiresAt?: number;
}

/** Options for {@link CertificateReloader}. */
export interface ReloaderOptions {
  /** The pair being served. */
  current: TlsPair;
  /** Puts a changed pair to use; throws when it cannot. */
  swap: (pair: TlsPair) => void;
  /** How often to read the files, ms. */
  everyMs: number;
  /** Where renewals and failures are logged. */
  log: Logger;
}

/** Polls the certificate files and swaps in a changed pair. */
export class CertificateReloader {
  /** Counters for `/metrics`. */
  readonly stats: TlsStats;
  #files: TlsFiles;
  #options: ReloaderOptions;
  // The contents served, and the contents last seen, used or not: a
  // broken pair is tried (and logged) once, not at every poll.
  #served: string;
  #seen: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #checking: Promise<void> | undefined;

  /** Starts polling `files`. */
  constructor(files: TlsFiles, options: ReloaderOptions) {
    this.#files = files;
    this.#options = options;
    this.#served = this.#seen = fingerprint(options.current);
    this.stats = {
      renewed: 0,
      failed: 0,
      expiresAt: certificateExpiry(options.current),
    };
    this.#schedule();
  }

  /** Reads the files now and swaps in the pair if it changed and works. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => this.#checking = undefined);
    return this.#checking;
  }

  /** Stops polling; resolves when a read under way has finished. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#checking;
  }

  #schedule(): void {
    this.#timer = setTimeout(async () => {
      await this.check();
      if (this.#timer !== undefined) this.#schedule();
    }, this.#options.everyMs);
  }

  async #check(): Promise<void> {
    const log = this.#options.log;
    let pair: TlsPair;
    try {
      pair = await readPair(this.#files);
    } catch (error) {
      // Mid-rotation a file can be missing for a moment; the next poll
      // sees the finished state. Logged once per distinct failure.
      const seen = `unreadable\u0000${(error as Error).message}`;
      if (seen !== this.#seen) {
        this.#seen = seen;
        log.warn("Kept serving the current TLS certificate", { error });
      }
      return;
    }
    const seen = fingerprint(pair);
    if (seen === this.#seen) return;
    this.#seen = seen;
    if (seen === this.#served) return;
    try {
      this.#options.swap(pair);
    } catch (error) {
      this.stats.failed++;
      log.error(
        "Kept serving the current TLS certificate: the changed files cannot be used",
        {
          error,
          certFile: this.#files.certFile,
          keyFile: this.#files.keyFile,
        },
      );
      return;
    }
    this.#served = seen;
    this.stats.renewed++;
    this.stats.expiresAt = certificateExpiry(pair);
    log.info("Serving a renewed TLS certificate", {
      certFile: this.#files.certFile,
      expires: this.stats.expiresAt === undefined
        ? undefined
        : new Date(this.stats.expiresAt * 1000).toISOString(),
    });
  }
}

function fingerprint(pair: TlsPair): string {
  return `${pair.cert}\u0000${pair.key}`;
}
