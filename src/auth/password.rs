//! Password hashing with argon2id on blocking threads, a bounded number at once.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// How long a sign-in waits for a hashing slot before it is told the server is busy:
/// short enough that the answer, with its bookkeeping, reaches the client within 2 s.
const QUEUE_TIMEOUT: Duration = Duration::from_millis(1500);

/// How many hashes may wait per slot; past that a sign-in is told busy at once. At
/// 20-50 ms a hash, a slot gets through about this many in the queue timeout, so a
/// longer queue would only make more clients wait to be refused.
const WAITING_PER_SLOT: usize = 32;

/// Marks a stored password hash that no password matches: a reset by link ends the
/// old password at once, before the member has chosen a new one. The hash after it is
/// kept, so the new password can still be told apart from the old one.
pub const DISABLED: char = '!';

/// The hash a disabled password hash keeps after [`DISABLED`], or `hash` itself.
pub fn without_disabled(hash: &str) -> &str {
    hash.strip_prefix(DISABLED).unwrap_or(hash)
}

/// Hashes and verifies passwords; clones share the bound.
#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    /// Places in the hasher, running or waiting: the queue's bound.
    places: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    /// A hash to verify against when the email is unknown, so that an unknown email
    /// costs the same as a wrong password.
    dummy: Arc<String>,
    concurrency: usize,
}

type Job = Box<dyn FnOnce() + Send>;

/// argon2id with OWASP's parameters: m=19456 KiB, t=2, p=1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2 hashing failed: {e}")))
}

/// Starts `count` hashing threads at a lower scheduling priority: a burst of
/// sign-ins then takes the CPU time the rest of the server leaves, instead of
/// starving every other request.
fn start_workers(count: usize) -> Result<std::sync::mpsc::Sender<Job>> {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = Arc::new(std::sync::Mutex::new(receiver));
    for n in 0..count {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("roster-hash-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => {
                            job();
                            release_memory();
                        }
                        Err(_) => break,
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start a hashing thread: {e}")))?;
    }
    Ok(sender)
}

/// Gives the 19 MiB an argon2 run used back to the operating system now: mimalloc
/// would otherwise keep it until the thread allocates again, which an idle server
/// never does. Harmless when mimalloc is not the global allocator (tests).
pub fn release_memory() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread, no pointers involved; a failure
    // only leaves the thread at normal priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

impl Hasher {
    /// A hasher running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Result<Self> {
        let dummy = hash_now(&crate::auth::token::random_password())?;
        let concurrency = concurrency.max(1);
        Ok(Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            places: Arc::new(Semaphore::new(concurrency * (1 + WAITING_PER_SLOT))),
            jobs: start_workers(concurrency)?,
            dummy: Arc::new(dummy),
            concurrency,
        })
    }

    /// Hashes computing now, and hashes waiting for a thread.
    pub fn load(&self) -> (usize, usize) {
        let running = self.concurrency - self.slots.available_permits().min(self.concurrency);
        let places = self.concurrency * (1 + WAITING_PER_SLOT);
        let inside = places - self.places.available_permits().min(places);
        (running, inside.saturating_sub(running))
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let busy = |why: &str| {
            metrics::counter!("roster_server_busy_total").increment(1);
            tracing::warn!(why, "password hashing refused: SERVER_BUSY");
            Error::Busy("too many sign-ins at once; retry in a moment")
        };
        let place = self
            .places
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy("queue full"))?;
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| busy("waited too long"))?
            .map_err(|e| Error::Internal(e.to_string()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
            drop((permit, place));
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("the hashing threads are gone".into()))?;
        result
            .await
            .map_err(|_| Error::Internal("a hashing job failed".into()))
    }

    /// The argon2id PHC string of `password`.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `hash`; with `None` or a hash marked [`DISABLED`],
    /// checks against a dummy hash (taking the same time) and returns false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let hash = hash.filter(|h| !h.starts_with(DISABLED));
        let (password, known) = (password.to_owned(), hash.is_some());
        let hash = hash.map_or_else(|| self.dummy.as_str().to_owned(), str::to_owned);
        let ok = self
            .run(move || {
                argon2()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn a_hash_waiting_past_the_queue_timeout_is_told_busy() {
        let hasher = Hasher::new(1).unwrap();
        let holder = hasher.clone();
        let held = tokio::spawn(async move {
            holder
                .run(|| std::thread::sleep(QUEUE_TIMEOUT + Duration::from_secs(1)))
                .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let outcome = hasher.verify("password", None).await;
        let waited = started.elapsed();
        assert!(matches!(outcome, Err(Error::Busy(_))), "not busy");
        // Told within 2 s, with time left for the answer's bookkeeping.
        assert!(
            waited >= QUEUE_TIMEOUT && waited < Duration::from_millis(1800),
            "{waited:?}"
        );
        held.await.unwrap().unwrap();
        assert!(
            !hasher.verify("password", None).await.unwrap(),
            "free again"
        );
    }

    #[tokio::test]
    async fn a_hash_finding_the_queue_full_is_told_busy_at_once() {
        let hasher = Hasher::new(1).unwrap();
        // The first holds the slot for a second; the rest fill the queue behind it.
        let queued: Vec<_> = (0..=WAITING_PER_SLOT)
            .map(|i| {
                let hasher = hasher.clone();
                let holds = Duration::from_millis(if i == 0 { 1000 } else { 0 });
                tokio::spawn(async move { hasher.run(move || std::thread::sleep(holds)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let started = Instant::now();
        let outcome = hasher.verify("password", None).await;
        assert!(matches!(outcome, Err(Error::Busy(_))), "not busy");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "it did not wait"
        );
        for job in queued {
            job.await.unwrap().unwrap();
        }
        assert!(
            !hasher.verify("password", None).await.unwrap(),
            "free again"
        );
    }
}
