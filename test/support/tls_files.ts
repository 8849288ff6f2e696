/**
 * Certificates for TLS tests: a CA made here and a certificate for 127.0.0.1
 * signed by it, and the redis-server arguments that serve TLS with them.
 *
 * @module
 */

/** Where {@linkcode makeCertificates} put its files. */
export interface TlsFiles {
  readonly dir: string;
  /** The CA's certificate (PEM), to trust. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
  }
}

/**
 * A CA and a server certificate for 127.0.0.1 signed by it, in a new temp
 * dir that disposing removes.
 */
export async function makeCertificates(): Promise<
  TlsFiles & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "turn-tls-" });
  const key = ["-newkey", "rsa:2048", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...key,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=turn test CA",
  );
  await openssl(
    dir,
    "req",
    ...key,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  await Deno.writeTextFile(`${dir}/san.cnf`, "subjectAltName=IP:127.0.0.1\n");
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "san.cnf",
  );
  return {
    dir,
    ca: `${dir}/ca.crt`,
    cert: `${dir}/server.crt`,
    key: `${dir}/server.key`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * redis-server arguments for a TLS port with `files`; clients need no
 * certificate of their own unless `clientCertificates` is true.
 */
export function tlsArgs(
  files: TlsFiles,
  port: number,
  clientCertificates = false,
): string[] {
  return [
    "--tls-port",
    String(port),
    "--tls-cert-file",
    files.cert,
    "--tls-key-file",
    files.key,
    "--tls-ca-cert-file",
    files.ca,
    "--tls-auth-clients",
    clientCertificates ? "yes" : "no",
  ];
}
