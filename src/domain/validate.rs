//! Validation and normalisation of user input shared by several operations.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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

/// Whether `s` holds an invisible formatting character (Unicode Cf: zero-width
/// spaces and joiners, bidi overrides, soft hyphens), which lets one name look like
/// another (`Administrator\u{200b}`).
fn has_format(s: &str) -> bool {
    s.chars()
        .any(|c| c.general_category() == GeneralCategory::Format)
}

fn invisible(what: &str) -> Rejection {
    invalid(format!(
        "{what} must not contain invisible formatting characters (zero-width or bidi ones)"
    ))
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
    if has_format(email) {
        return Err(invisible("email"));
    }
    Ok(email.to_owned())
}

/// The key under which an email or name is unique: trimmed, in Unicode normal form
/// C and case-folded, so that the NFC and NFD spellings of one address, or two
/// casings of it, are one key. Folding can undo the composition, hence NFC twice.
pub fn key(s: &str) -> String {
    let s = s.trim();
    // ASCII is its own NFC, and its default case fold is its lowercase: most emails
    // and names skip the Unicode tables.
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let composed: String = s.nfc().collect();
    caseless::default_case_fold_str(&composed).nfc().collect()
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
    if has_format(s) {
        return Err(invisible(what));
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
    fn ascii_keys_are_what_the_unicode_fold_gives() {
        let ascii: String = (0x20u8..0x7f).map(char::from).collect();
        let folded: String = caseless::default_case_fold_str(&ascii).nfc().collect();
        assert_eq!(key(&ascii), folded.trim());
        assert_eq!(key("  Mixed.Case@Example.COM "), "mixed.case@example.com");
    }

    #[test]
    fn look_alikes_share_a_key_or_are_refused() {
        let (nfc, nfd) = (
            "j\u{e9}r\u{f4}me@example.com",
            "je\u{301}ro\u{302}me@example.com",
        );
        assert_ne!(nfc, nfd);
        assert_eq!(key(nfc), key(nfd));
        assert_eq!(key("J\u{c9}R\u{d4}ME@Example.com"), key(nfd));
        assert_eq!(key("Stra\u{df}e"), key("STRASSE"));
        for bad in [
            "admin\u{200b}@localhost",
            "a\u{202e}b@example.com",
            "x\u{feff}@y",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(label("Administrator\u{200b}", "name", 80).is_err());
        assert!(label("Ren\u{e9}e", "name", 80).is_ok());
    }
}
