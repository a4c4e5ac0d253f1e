//! Where the ranks of a distributed case meet: a TEMP_DIR of its own (with the
//! `barrier/` and `test_dir/` folders PyTorch's handler makes, removed afterwards) and
//! a free MASTER_PORT that no other case of this machine holds meanwhile.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

pub const MASTER_ADDR: &str = "127.0.0.1";

/// Held for the life of the case: dropping it removes TEMP_DIR and frees the port.
#[derive(Debug)]
pub struct Rendezvous {
    pub temp_dir: tempfile::TempDir,
    pub port: u16,
    _port_lock: File,
}

impl Rendezvous {
    pub fn new(lock_dir: &Path) -> std::io::Result<Rendezvous> {
        let temp_dir = tempfile::Builder::new().prefix("torch-dist-").tempdir()?;
        std::fs::create_dir(temp_dir.path().join("barrier"))?;
        std::fs::create_dir(temp_dir.path().join("test_dir"))?;
        std::fs::create_dir_all(lock_dir)?;
        // The kernel hands out a free port; the lock keeps a parallel case that is
        // handed the same one (after ours is released) from using it too.
        for _ in 0..64 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(lock_dir.join(format!("port-{port}.lock")))?;
            if lock.try_lock().is_ok() {
                return Ok(Rendezvous {
                    temp_dir,
                    port,
                    _port_lock: lock,
                });
            }
        }
        Err(std::io::Error::other("no free port after 64 tries"))
    }
}
