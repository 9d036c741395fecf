//! Integration tests: real HTTP into the real router, a fresh database per test, on
//! SQLite and (with `ROSTER_TEST_POSTGRES_URL`) PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod audit;
mod audit_export;
mod boundary;
mod browser;
mod bulk;
mod capabilities;
mod cli;
mod clients;
mod console;
mod console_lifecycle;
mod console_live;
mod counters;
mod escalation;
mod faults;
mod freeze_until;
mod frontend;
mod hardening;
mod http_surface;
mod instances;
mod invitations;
mod layers;
mod live;
mod live_client;
mod live_order;
mod member_admin;
mod members;
mod operating;
mod operations;
mod pages;
mod plans;
mod removal;
mod roles;
mod schema;
mod sessions;
mod shapes;
mod signin;
mod throttling;
