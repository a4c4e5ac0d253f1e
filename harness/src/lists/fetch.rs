//! Downloading a list, as run_test.py's `fetch_and_cache` does (research §4.1): a
//! cached copy younger than three hours is used as it is; otherwise a few attempts
//! with short timeouts. An unreachable source costs seconds, never a hang.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How long a downloaded list is reused (run_test.py's FILE_CACHE_LIFESPAN_SECONDS).
pub const CACHE_LIFESPAN: Duration = Duration::from_secs(3 * 60 * 60);

/// Bounds on one download.
#[derive(Debug, Clone, Copy)]
pub struct Fetch {
    /// Per attempt, to open the connection (run_test.py's urlopen timeout is 5 s).
    pub connect: Duration,
    /// Per attempt, from start to the last byte.
    pub attempt: Duration,
    /// All attempts together: no new attempt starts after this.
    pub budget: Duration,
    pub attempts: u32,
    pub lifespan: Duration,
}

impl Default for Fetch {
    fn default() -> Fetch {
        Fetch {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(5),
            budget: Duration::from_secs(10),
            attempts: 3,
            lifespan: CACHE_LIFESPAN,
        }
    }
}

/// Where the text came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Downloaded {
        attempts: u32,
    },
    Cached {
        age: Duration,
    },
    /// The download failed; an older copy stands in.
    Stale {
        age: Duration,
        error: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("cannot fetch {url} ({attempts} attempt(s) in {seconds:.1} s): {error}")]
pub struct FetchError {
    pub url: String,
    pub attempts: u32,
    pub seconds: f64,
    pub error: String,
}

impl Fetch {
    /// The text at `url`, through the cache in `cache_dir`. `check` rejects a body that
    /// is not the list (an error page); a rejected body is neither used nor cached.
    pub fn get(
        &self,
        url: &str,
        cache_dir: &Path,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<(String, Origin), FetchError> {
        let cached = cache_file(cache_dir, url);
        let previous = std::fs::read_to_string(&cached)
            .ok()
            .filter(|text| check(text).is_ok())
            .map(|text| (text, age(&cached)));
        if let Some((text, age)) = &previous
            && *age < self.lifespan
        {
            return Ok((text.clone(), Origin::Cached { age: *age }));
        }
        let started = Instant::now();
        let mut attempts = 0;
        let mut error = String::from("no attempt made");
        while attempts < self.attempts {
            let left = self.budget.saturating_sub(started.elapsed());
            if attempts > 0 && left.is_zero() {
                break;
            }
            attempts += 1;
            match self.once(url, self.attempt.min(left.max(Duration::from_millis(1)))) {
                Ok(text) => match check(&text) {
                    Ok(()) => {
                        // A cache that cannot be written only costs the next run a download.
                        let _ = crate::util::fs::write_atomic(&cached, text.as_bytes());
                        return Ok((text, Origin::Downloaded { attempts }));
                    }
                    Err(e) => error = format!("not the expected list: {e}"),
                },
                Err(e) => error = e,
            }
        }
        let failure = FetchError {
            url: url.to_string(),
            attempts,
            seconds: started.elapsed().as_secs_f64(),
            error,
        };
        match previous {
            Some((text, age)) => Ok((
                text,
                Origin::Stale {
                    age,
                    error: failure.to_string(),
                },
            )),
            None => Err(failure),
        }
    }

    fn once(&self, url: &str, limit: Duration) -> Result<String, String> {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(self.connect.min(limit)))
            .timeout_global(Some(limit))
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
        response
            .body_mut()
            .with_config()
            // PyTorch's condensed list is a few MB; this leaves room to grow.
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| e.to_string())
    }
}

/// `<cache>/lists/<url as a file name>`.
pub fn cache_file(cache_dir: &Path, url: &str) -> PathBuf {
    let name: String = url
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache_dir.join("lists").join(name)
}

fn age(path: &Path) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or(Duration::MAX)
}
