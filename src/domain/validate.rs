//! Validation and normalisation of user input shared by several operations.

use crate::error::{ErrorCode, Rejection};

/// Longest password accepted, in characters; longer input is refused before hashing
/// so that nobody can make the server hash megabytes.
pub const PASSWORD_MAX_LENGTH: usize = 256;

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::new(ErrorCode::InvalidInput, message)
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A trimmed email address, or why it is not one.
pub fn email(raw: &str) -> Result<String, Rejection> {
    let email = raw.trim();
    let count = email.chars().count();
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid("email must look like name@example.com"));
    };
    if !(3..=254).contains(&count)
        || local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid("email must look like name@example.com"));
    }
    Ok(email.to_owned())
}

/// The case-insensitive key under which an email or name is unique.
pub fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A trimmed display name of 1 to `max` characters.
pub fn label(raw: &str, what: &str, max: usize) -> Result<String, Rejection> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 || n > max || has_control(s) {
        return Err(invalid(format!(
            "{what} must be 1 to {max} characters, without control characters"
        )));
    }
    Ok(s.to_owned())
}

/// A free text of at most `max` characters (line breaks allowed).
pub fn text(raw: &str, what: &str, max: usize) -> Result<String, Rejection> {
    let s = raw.trim();
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(format!(
            "{what} must not contain control characters other than line breaks"
        )));
    }
    if s.chars().count() > max {
        return Err(invalid(format!("{what} must be at most {max} characters")));
    }
    Ok(s.to_owned())
}

/// Checks a new password's length against the policy.
pub fn password_shape(password: &str, min: usize) -> Result<(), Rejection> {
    let n = password.chars().count();
    if n < min || n > PASSWORD_MAX_LENGTH {
        return Err(Rejection::new(
            ErrorCode::PasswordPolicy,
            format!("the password must be {min} to {PASSWORD_MAX_LENGTH} characters long"),
        ));
    }
    Ok(())
}

/// Parses an id as the API shows it (a decimal number); anything else names nothing.
pub fn id(raw: &str) -> Option<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && raw.len() < 20 && !raw.starts_with('+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_checked() {
        assert_eq!(email("  Ann@Example.com ").unwrap(), "Ann@Example.com");
        assert!(email("admin@localhost").is_ok());
        for bad in ["", "a", "@x", "x@", "a b@c", "a@b@c", "a@\u{0}b"] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ids_are_positive_decimal_numbers() {
        assert_eq!(id("42"), Some(42));
        for bad in ["", "0", "-1", "+1", "abc", "1e3", "99999999999999999999"] {
            assert_eq!(id(bad), None, "{bad:?}");
        }
    }
}
