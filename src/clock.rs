//! The time source: the system clock in production, a settable one in tests.

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};

/// Where Roster reads the current time; injectable so tests can move it.
pub trait Clock: Send + Sync {
    /// The current instant in UTC.
    fn now_utc(&self) -> DateTime<Utc>;

    /// The current instant as stored in the database: UTC, microsecond precision
    /// (what PostgreSQL keeps), so both backends hold the same value.
    fn now(&self) -> NaiveDateTime {
        self.now_utc().trunc_subsecs(6).naive_utc()
    }
}

/// The operating system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved; for tests.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing the system time now.
    pub fn new() -> Self {
        Self(Mutex::new(Utc::now()))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
