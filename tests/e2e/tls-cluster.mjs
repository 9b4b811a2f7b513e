// A PostgreSQL cluster of a test's own that speaks TLS (`ssl = on`, on a free port of 127.0.0.1),
// with a server certificate for `localhost` only, signed by a CA made here, and a second CA that
// signed nothing of it. For tests of how the faces report a wrong CA and a wrong host name
// (docs/operations.md). The certificates are made with the openssl command-line tool.

import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { freePort, onExit, run } from "./processes.mjs";

const pgbin = (() => {
  const dirs = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b)) : [];
  const last = dirs.at(-1);
  return last ? `/usr/lib/postgresql/${last}/bin` : "";
})();

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool, as the `postgres` system user when this process is root. */
function pgTool(tool, args) {
  return asRoot ? run("runuser", ["-u", "postgres", "--", join(pgbin, tool), ...args]) : run(join(pgbin, tool), args);
}

/** A self-signed CA in `dir`: returns the paths of its certificate and key. */
function makeCa(dir, name) {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=Digimed test ${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key };
}

/**
 * Starts the cluster; returns its port and the paths of the CA that signed its certificate
 * (`ca`) and of another CA (`otherCa`). It is stopped and removed on the way out.
 */
export async function tlsCluster() {
  if (!pgbin) throw new Error("PostgreSQL server binaries not found (apt-get install postgresql)");
  const dir = mkdtempSync(join(tmpdir(), "digimed-tls-cluster-"));
  chmodSync(dir, 0o755);
  const ca = makeCa(dir, "clinic-ca");
  const otherCa = makeCa(dir, "other-ca");
  const serverKey = join(dir, "server.key");
  const serverCsr = join(dir, "server.csr");
  const serverCert = join(dir, "server.crt");
  const ext = join(dir, "server.ext");
  writeFileSync(ext, "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n");
  run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", serverKey, "-out", serverCsr, "-subj", "/CN=localhost"]);
  run("openssl", ["x509", "-req", "-in", serverCsr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", serverCert, "-days", "2", "-extfile", ext]);
  chmodSync(serverKey, 0o600);
  const data = join(dir, "data");
  if (asRoot) run("chown", ["-R", "postgres:postgres", dir]);
  pgTool("initdb", ["-D", data, "-U", "clinic", "-E", "UTF8", "--locale=C.UTF-8", "-A", "reject"]);
  const port = await freePort();
  writeFileSync(
    join(data, "postgresql.conf"),
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      `ssl = on`,
      `ssl_cert_file = '${serverCert}'`,
      `ssl_key_file = '${serverKey}'`,
      `max_connections = 20`,
      `shared_buffers = 16MB`,
      `fsync = off`,
      "",
    ].join("\n"),
    { flag: "a" },
  );
  onExit(() => {
    try {
      pgTool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  pgTool("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  return { port, ca: ca.cert, otherCa: otherCa.cert };
}
