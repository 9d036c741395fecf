-- Failed-attempt counters for brute-force throttling, shared by every instance.
CREATE TABLE throttles (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL
);
