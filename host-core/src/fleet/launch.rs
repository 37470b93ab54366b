//! A `nats-server` with JetStream started as a child process on a random
//! loopback port, its storage in a fresh temporary folder: what the tests
//! and `airssys bench --fleet` use when no NATS URL is given.
//!
//! Owns: that child process and its folder (both gone on drop). Must not
//! touch: anything of a NATS server it did not start.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// A running `nats-server`, stopped and its folder removed on drop.
#[derive(Debug)]
pub struct LocalNats {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl LocalNats {
    /// Starts `nats-server` (from `PATH`, or `$AIRSSYS_NATS_SERVER`) with
    /// JetStream on `127.0.0.1` and a port the OS picks; waits up to 10 s for
    /// it to listen.
    ///
    /// Errors: [`Error::FleetUnreachable`] when the program is missing
    /// (install it: `apt-get install nats-server`) or does not start.
    pub fn start() -> Result<Self> {
        LocalNats::start_with_args(&[])
    }

    /// [`LocalNats::start`] with extra `nats-server` options, e.g.
    /// `["--user", "u", "--pass", "p"]` for a server that asks clients to
    /// authenticate.
    pub fn start_with_args(extra: &[&str]) -> Result<Self> {
        let program = std::env::var_os("AIRSSYS_NATS_SERVER").unwrap_or_else(|| "nats-server".into());
        let dir = std::env::temp_dir().join(format!("airssys-nats-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create a folder for nats-server", &dir, e))?;
        let log =
            std::fs::File::create(dir.join("nats.log")).map_err(|e| Error::io("create", dir.join("nats.log"), e))?;
        let child = Command::new(&program)
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(&dir)
            .arg("--ports_file_dir")
            .arg(&dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                Error::FleetUnreachable {
                    url: "(local nats-server)".into(),
                    reason: format!(
                        "cannot start `{}`: {e}; install it (`apt-get install nats-server`) or set AIRSSYS_NATS_SERVER",
                        Path::new(&program).display()
                    ),
                }
            })?;
        let mut nats = LocalNats { child, dir, url: String::new() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(url) = nats.read_ports_file() {
                nats.url = url;
                return Ok(nats);
            }
            if let Ok(Some(status)) = nats.child.try_wait() {
                let log = std::fs::read_to_string(nats.dir.join("nats.log")).unwrap_or_default();
                return Err(Error::FleetUnreachable {
                    url: "(local nats-server)".into(),
                    reason: format!("nats-server exited ({status}): {}", log.trim()),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::FleetUnreachable {
            url: "(local nats-server)".into(),
            reason: "nats-server did not report its port within 10 s".into(),
        })
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn read_ports_file(&self) -> Option<String> {
        let entry = std::fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().ends_with(".ports"))?;
        let text = std::fs::read_to_string(entry.path()).ok()?;
        let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
        ports["nats"].get(0)?.as_str().map(str::to_string)
    }
}

impl Drop for LocalNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
