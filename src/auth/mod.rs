//! Credentials: password hashing, tokens, and the signed-in member.

pub mod password;
pub mod token;
pub mod viewer;

pub use password::Hasher;
pub use viewer::Viewer;
