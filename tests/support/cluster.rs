//! A PostgreSQL cluster of a test's own (initdb into a temporary folder, listening on a free
//! loopback port), for tests that must restart the server or configure it (TLS) without
//! disturbing the shared test server.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use tokio::process::Command;
use uuid::Uuid;

/// The server's certificate chain and key, in PEM, for a cluster with `ssl = on`.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub certificate_pem: String,
    pub key_pem: String,
}

/// A PostgreSQL cluster of this test's own in a temporary folder, on a free loopback port.
#[derive(Debug)]
pub struct ScratchCluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    pub password: String,
    as_root: bool,
}

impl ScratchCluster {
    /// A cluster without TLS; its owner is `clinic` with `password`.
    pub async fn create() -> ScratchCluster {
        Self::create_with(None).await
    }

    /// A cluster that serves TLS (`ssl = on`) with the given certificate, and plaintext too (as a
    /// server whose `pg_hba.conf` says `host`, not `hostssl`): the client decides.
    pub async fn with_tls(tls: ServerTls) -> ScratchCluster {
        Self::create_with(Some(tls)).await
    }

    async fn create_with(tls: Option<ServerTls>) -> ScratchCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("the PostgreSQL server binaries (apt-get install postgresql)")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("pg_ctl").exists())
            .max_by_key(|b| b.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()))
            .expect("pg_ctl under /usr/lib/postgresql/*/bin");
        let dir = std::env::temp_dir().join(format!("digimed-cluster-{}", &Uuid::new_v4().simple().to_string()[..12]));
        std::fs::create_dir_all(&dir).unwrap();
        let password = Uuid::new_v4().simple().to_string();
        std::fs::write(dir.join("pwfile"), &password).unwrap();
        let mut conf = String::new();
        if let Some(tls) = &tls {
            std::fs::write(dir.join("server.crt"), &tls.certificate_pem).unwrap();
            std::fs::write(dir.join("server.key"), &tls.key_pem).unwrap();
            // PostgreSQL refuses a key file others may read.
            std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
            conf.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                dir.join("server.crt").display(),
                dir.join("server.key").display()
            ));
        }
        // PostgreSQL does not run as root: then it runs as the `postgres` system user.
        let as_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        if as_root {
            let ok = Command::new("chown").arg("-R").arg("postgres:postgres").arg(&dir).status().await.unwrap().success();
            assert!(ok, "chown the scratch cluster's folder");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = ScratchCluster { dir, bin, port, password, as_root };
        let data = c.data();
        c.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "clinic",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "-A",
                "scram-sha-256",
                "--pwfile",
                &c.path("pwfile"),
            ],
        )
        .await;
        conf.push_str(&format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 60\n\
             shared_buffers = 16MB\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            c.port,
            c.dir.display()
        ));
        let mut existing = std::fs::read_to_string(c.dir.join("data/postgresql.conf")).unwrap();
        existing.push_str(&conf);
        std::fs::write(c.dir.join("data/postgresql.conf"), existing).unwrap();
        c.start().await;
        c
    }

    /// A file in the cluster's folder.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn data(&self) -> String {
        self.path("data")
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().await.unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub async fn start(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-l", &self.path("server.log"), "-w", "-t", "120", "start"]).await;
    }

    pub async fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "-t", "120", "stop"]).await;
    }

    /// The URL of database `db` as `user`, on 127.0.0.1.
    pub fn url_as(&self, user: &str, password: &str, db: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn owner_url(&self, db: &str) -> String {
        self.url_as("clinic", &self.password, db)
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.data();
        let mut cmd = if self.as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            std::process::Command::new(&pg_ctl)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
