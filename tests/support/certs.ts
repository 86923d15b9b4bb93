/**
 * Certificates made by the tests with openssl: a CA, and certificates it
 * signs (serving certificates for TLS tests, client certificates for the
 * test kube-apiserver). P-256 keys, valid for a day or two.
 */

/** A CA: its files in `dir` and its certificate, PEM. */
export interface TestCa {
  /** The directory holding `NAME.crt` and `NAME.key`. */
  dir: string;
  /** The file name stem. */
  name: string;
  /** The certificate, PEM. */
  cert: string;
  /** The certificate's path. */
  certFile: string;
}

/** A certificate and its key, as PEM text and as files. */
export interface TestCertificate {
  /** The certificate, PEM. */
  cert: string;
  /** The key, PEM. */
  key: string;
  /** The certificate's path. */
  certFile: string;
  /** The key's path. */
  keyFile: string;
}

// A new P-256 key, unencrypted, for `openssl req`.
const NEW_EC_KEY = [
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:prime256v1",
  "-nodes",
];

async function openssl(cwd: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
}

/** Makes a self-signed CA named `name` in `dir`. */
export async function createCa(dir: string, name: string): Promise<TestCa> {
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  const certFile = `${dir}/${name}.crt`;
  return { dir, name, cert: await Deno.readTextFile(certFile), certFile };
}

/** What a certificate is for. */
export interface IssueOptions {
  /** The subject, e.g. `/CN=localhost` or `/O=group/CN=user`. */
  subject: string;
  /** X.509 v3 extensions, one `key=value` per line. */
  extensions: string;
}

/** Makes a key and a certificate for it, named `name`, signed by `ca`. */
export async function issueCertificate(
  ca: TestCa,
  name: string,
  options: IssueOptions,
): Promise<TestCertificate> {
  const dir = ca.dir;
  await openssl(dir, [
    "req",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    options.subject,
  ]);
  // Extensions make it an X.509 v3 certificate, which TLS stacks require.
  await Deno.writeTextFile(`${dir}/${name}.ext`, options.extensions);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca.name}.crt`,
    "-CAkey",
    `${ca.name}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "1",
    "-extfile",
    `${name}.ext`,
  ]);
  const certFile = `${dir}/${name}.crt`;
  const keyFile = `${dir}/${name}.key`;
  return {
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
    certFile,
    keyFile,
  };
}

/** A serving certificate for 127.0.0.1 and localhost, signed by `ca`. */
export function servingCertificate(
  ca: TestCa,
  name: string,
): Promise<TestCertificate> {
  return issueCertificate(ca, name, {
    subject: `/CN=${name}`,
    extensions:
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  });
}
