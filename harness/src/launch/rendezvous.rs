//! Where the ranks of a distributed case meet: a TEMP_DIR of its own (with the
//! `barrier/` and `test_dir/` folders PyTorch's handler makes, removed afterwards) and
//! a free MASTER_PORT that no other case of this machine holds meanwhile.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::sync::Mutex;

pub const MASTER_ADDR: &str = "127.0.0.1";

/// Held for the life of the case: dropping it removes TEMP_DIR and frees the port.
#[derive(Debug)]
pub struct Rendezvous {
    pub temp_dir: tempfile::TempDir,
    pub port: u16,
    _port_lock: File,
    /// The port stays bound here until the ranks are about to start: a case can wait
    /// minutes for the run lock, and a port let go meanwhile may be handed to anyone.
    reservation: Mutex<Option<TcpListener>>,
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
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            let port = listener.local_addr()?.port();
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
                    reservation: Mutex::new(Some(listener)),
                });
            }
        }
        Err(std::io::Error::other("no free port after 64 tries"))
    }

    /// Lets go of the port so rank 0 can bind it: just before the ranks start. The
    /// lock file still keeps it from this machine's other cases.
    pub fn release_port(&self) {
        let mut reservation = self.reservation.lock().unwrap_or_else(|e| e.into_inner());
        reservation.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_held_until_released_then_free_for_rank_zero() {
        let locks = tempfile::tempdir().unwrap();
        let meeting = Rendezvous::new(locks.path()).unwrap();
        // While the case waits its turn, nobody else can bind the port.
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, meeting.port)).is_err());
        meeting.release_port();
        let rank_zero = TcpListener::bind((Ipv4Addr::LOCALHOST, meeting.port)).unwrap();
        assert_eq!(rank_zero.local_addr().unwrap().port(), meeting.port);
        // A second case of this machine gets another port meanwhile.
        let other = Rendezvous::new(locks.path()).unwrap();
        assert_ne!(other.port, meeting.port);
        assert!(meeting.temp_dir.path().join("barrier").is_dir());
    }
}
