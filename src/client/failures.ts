/**
 * What connection failures mean to a caller: the words a user reads (what
 * happened, what to do) and whether retrying can help.
 * Runtimes say little and in their own terms ("invalid peer certificate:
 * CaUsedAsEndEntity"); this turns them into advice.
 *
 * @module
 */
import { ConnectionError } from "./errors.ts";

/** The openssl commands that make a leaf certificate signed by a CA. */
export function leafCertificateSteps(host: string): string {
  const san = /^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`;
  return [
    "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\",
    `    -keyout server.key -out server.csr -subj /CN=${host}`,
    `  printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\nsubjectAltName=${san}\\n' > server.ext`,
    "  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \\",
    "    -days 365 -extfile server.ext -out server.crt",
  ].join("\n");
}

interface Explained {
  message: string;
  kind: ConnectionError["kind"];
  retry: boolean;
}

function httpRefusal(
  url: string,
  status: string,
  sentToken: boolean,
): Explained {
  switch (status) {
    case "401":
      return {
        kind: "unauthorized",
        retry: false,
        message: sentToken
          ? `${url} refused the token (HTTP 401); check --token, DORGU_WS_TOKEN or the config file's token.`
          : `${url} requires a token (HTTP 401); pass --token or set DORGU_WS_TOKEN.`,
      };
    case "403":
      return {
        kind: "forbidden",
        retry: false,
        message: `${url} refused the connection (HTTP 403).`,
      };
    case "404":
      return {
        kind: "not-found",
        retry: false,
        message: new URL(url).pathname.endsWith("/ws")
          ? `${url} answered HTTP 404: something in front of dorgu-ws (a proxy, an ingress, another service on that port) does not route this path to it; check the URL's host, port and path prefix.`
          : `${url} is not a dorgu-ws WebSocket endpoint (HTTP 404); the path is /ws, as in ws://localhost:9090/ws.`,
      };
    case "503":
      return {
        kind: "busy",
        retry: true,
        message:
          `${url} is busy or shutting down (HTTP 503); try again shortly.`,
      };
    default:
      return {
        kind: "other",
        retry: false,
        message: `${url} refused the WebSocket upgrade (HTTP ${status}).`,
      };
  }
}

function tlsFailure(url: string, detail: string): Explained | undefined {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  const tls = (message: string): Explained => ({
    kind: "tls",
    retry: false,
    message,
  });
  if (/InvalidContentType|corrupt message|wrong version number/i.test(detail)) {
    return tls(
      `Cannot connect to ${url}: the server does not speak TLS there; use ${
        url.replace(/^wss:/, "ws:")
      } for a server without TLS.`,
    );
  }
  if (/CaUsedAsEndEntity/i.test(detail)) {
    return tls(
      `Cannot connect to ${url}: the server presents a CA certificate as its own (one made with 'openssl req -x509' is a CA certificate). curl accepts that, but this client's TLS stack refuses it: the server needs a leaf certificate signed by that CA. With the CA's files ca.crt and ca.key:\n${
        leafCertificateSteps(host)
      }\nServe server.crt and server.key (--tls-cert-file, --tls-private-key-file), and keep trusting ca.crt here (--ca-file ca.crt).`,
    );
  }
  if (/UnknownIssuer|self.signed|unable to get local issuer/i.test(detail)) {
    return tls(
      `Cannot connect to ${url}: its TLS certificate is signed by a CA this client does not trust; pass --ca-file with that CA's certificate (or set ca-file for the server in the config file), or --insecure-skip-tls-verify for a lab server.`,
    );
  }
  if (/NotValidForName|altnames/i.test(detail)) {
    return tls(
      `Cannot connect to ${url}: its TLS certificate is not valid for ${host}; connect by a name the certificate lists.`,
    );
  }
  if (/expired/i.test(detail)) {
    return tls(
      `Cannot connect to ${url}: its TLS certificate has expired; the server needs a renewed one.`,
    );
  }
  if (/certificate/i.test(detail)) {
    return tls(
      `Cannot connect to ${url}: its TLS certificate is not trusted (${
        detail.replace(/^.*?: (?=[^:]*certificate)/i, "")
      }).`,
    );
  }
  return undefined;
}

/**
 * Turns a runtime's words for a failed connection (`detail`) into a
 * {@link ConnectionError} that says what to do.
 */
export function explainConnectFailure(
  url: string,
  detail: string,
  options: { sentToken: boolean; cause?: unknown },
): ConnectionError {
  const explained = explain(url, detail, options.sentToken);
  return new ConnectionError(explained.message, {
    kind: explained.kind,
    retry: explained.retry,
    cause: options.cause,
  });
}

function explain(url: string, detail: string, sentToken: boolean): Explained {
  const status =
    /(?:status code:?|server response:|Unexpected server response:?) (\d{3})/i
      .exec(detail)?.[1];
  if (status) return httpRefusal(url, status, sentToken);
  if (/tcp connect|connection refused|ECONNREFUSED/i.test(detail)) {
    return {
      kind: "refused",
      retry: true,
      message:
        `Cannot connect to ${url}: connection refused. Is dorgu-ws running there? (In a cluster: kubectl -n NAMESPACE port-forward svc/dorgu-ws 9090, with the namespace dorgu-ws runs in.)`,
    };
  }
  if (/dns|ENOTFOUND|EAI_AGAIN/i.test(detail)) {
    return {
      kind: "unresolved",
      retry: true,
      message: `Cannot connect to ${url}: its host name does not resolve.`,
    };
  }
  const tls = tlsFailure(url, detail);
  if (tls) return tls;
  if (/^WebSocket is not defined/.test(detail)) {
    // Node.js before 22 has no global WebSocket; retrying will not give it one.
    return {
      kind: "other",
      retry: false,
      message:
        `Cannot connect to ${url}: this runtime has no WebSocket (Node.js has one from version 22 on); run on Node.js 22 or later, Deno or a browser, or give the client dial: webSocketDialer(url, { create }) with a create that makes one (with the ws package: (url, init) => new WebSocket(url, init.protocols, { headers: init.headers })).`,
    };
  }
  return {
    kind: "other",
    retry: true,
    message: `Cannot connect to ${url}: ${
      detail.replace(/^NetworkError: (failed to connect to WebSocket: )?/, "")
    }.`,
  };
}
