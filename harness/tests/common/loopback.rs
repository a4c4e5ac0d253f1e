//! A loopback HTTP server (127.0.0.1, a port the kernel picks) answering every request
//! with one body, counting the requests; stopped when dropped. Shared by the harness's
//! and xtask's list tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

pub struct Served {
    /// The list's URL on this server.
    pub url: String,
    hits: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Served {
    pub fn new(body: &'static str) -> Served {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let (s, h) = (Arc::clone(&server), Arc::clone(&hits));
        let thread = std::thread::spawn(move || {
            for request in s.incoming_requests() {
                h.fetch_add(1, Ordering::SeqCst);
                let _ = request.respond(tiny_http::Response::from_string(body));
            }
        });
        Served {
            url: format!("http://127.0.0.1:{port}/disabled-tests-condensed.json"),
            hits,
            server,
            thread: Some(thread),
        }
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
