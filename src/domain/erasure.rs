//! Erasing a removed member's personal data: their email and name leave the members
//! table (their row, and other members' freeze reasons), the invitations bound to the
//! email and every audit event's text, so that no later answer or log line holds them.

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::domain::members::{Member, search_key};
use crate::error::{Error, Result};

/// What an erased email or name reads as in the audit log.
pub const ERASED: &str = "[erased]";
/// A removed member's name.
pub const REMOVED_NAME: &str = "Removed member";

/// A removed member's email: unique, and in a domain that cannot receive mail
/// (RFC 2606), so the real address is free to be invited again.
pub fn removed_email(id: i64) -> String {
    format!("removed-{id}@removed.invalid")
}

/// The search text of a removed member.
pub fn removed_search_key(id: i64) -> String {
    search_key(&removed_email(id), REMOVED_NAME)
}

/// The email and name of one member, found and replaced case-insensitively: the
/// email wherever it occurs, the name as a whole word (a name "Al" leaves "Also").
pub struct Erasure {
    patterns: Vec<Regex>,
    /// `LIKE` patterns (for `lower(text) LIKE … ESCAPE '\'`) of the stored texts that
    /// may hold the email or the name; never empty.
    pub like: Vec<String>,
}

impl Erasure {
    /// The erasure of `member`'s email and name as they are before removal.
    pub fn of(member: &Member) -> Result<Self> {
        let mut patterns = Vec::new();
        let mut like = Vec::new();
        for (text, whole_word) in [(&member.email, false), (&member.name, true)] {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let word = |c: Option<char>| whole_word && c.is_some_and(char::is_alphanumeric);
            let (start, end) = (word(text.chars().next()), word(text.chars().last()));
            let pattern = format!(
                "{}{}{}",
                if start { r"\b" } else { "" },
                regex::escape(text),
                if end { r"\b" } else { "" }
            );
            let regex = RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| Error::Internal(format!("erasure pattern: {e}")))?;
            patterns.push(regex);
            // As stored in JSON text: escaped like serde_json writes strings.
            let json = Value::String(text.to_owned()).to_string();
            let json = &json[1..json.len() - 1];
            like.push(crate::domain::member_search::like(&json.to_lowercase()));
            like.push(crate::domain::member_search::like(json));
        }
        like.dedup();
        // The scrubs select the rows these patterns match: none would select them all.
        if like.is_empty() {
            return Err(Error::Internal(format!(
                "member {} has nothing to erase",
                member.id
            )));
        }
        Ok(Erasure { patterns, like })
    }

    /// `text` with every mention replaced by [`ERASED`].
    pub fn text(&self, text: &str) -> String {
        self.patterns.iter().fold(text.to_owned(), |t, p| {
            p.replace_all(&t, ERASED).into_owned()
        })
    }

    /// JSON text with every string in it (keys included) passed through [`Self::text`];
    /// text that is not JSON is treated as plain text.
    pub fn json(&self, json: &str) -> String {
        match serde_json::from_str::<Value>(json) {
            Ok(value) => self.value(value).to_string(),
            Err(_) => self.text(json),
        }
    }

    fn value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.text(&k), self.value(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Rewrites, on the act's transaction connection `$c`, every audit event whose
/// details, changes or reason may mention what `$erasure` erases; how many changed.
macro_rules! scrub_audit {
    ($c:expr, $erasure:expr) => {{
        use crate::db::schema::audit_events as ae;
        let erasure: &crate::domain::erasure::Erasure = $erasure;
        let mut q = ae::table
            .select((ae::id, ae::details, ae::changes, ae::reason))
            .into_boxed();
        for pattern in &erasure.like {
            q = q
                .or_filter(
                    crate::domain::erasure::lower(ae::details)
                        .like(pattern)
                        .escape('\\'),
                )
                .or_filter(
                    crate::domain::erasure::lower(ae::changes)
                        .like(pattern)
                        .escape('\\'),
                )
                .or_filter(
                    crate::domain::erasure::lower_nullable(ae::reason)
                        .like(pattern)
                        .escape('\\'),
                );
        }
        let rows: Vec<(i64, String, String, Option<String>)> = q.load($c).await?;
        let mut scrubbed = 0;
        for (id, details, changes, reason) in rows {
            let new = (
                erasure.json(&details),
                erasure.json(&changes),
                reason.as_deref().map(|r| erasure.text(r)),
            );
            if (&new.0, &new.1, &new.2) != (&details, &changes, &reason) {
                diesel::update(ae::table.find(id))
                    .set((
                        ae::details.eq(new.0),
                        ae::changes.eq(new.1),
                        ae::reason.eq(new.2),
                    ))
                    .execute($c)
                    .await?;
                scrubbed += 1;
            }
        }
        scrubbed
    }};
}
pub(crate) use scrub_audit;

/// Rewrites, on `$c`, the freeze reasons of other members that may mention what
/// `$erasure` erases ("covering for Ann Lee"); how many changed. (The removed member's
/// own reason is cleared by the removal before this runs.)
macro_rules! scrub_reasons {
    ($c:expr, $erasure:expr) => {{
        use crate::db::schema::members as m;
        let erasure: &crate::domain::erasure::Erasure = $erasure;
        let mut q = m::table.select((m::id, m::frozen_reason)).into_boxed();
        for pattern in &erasure.like {
            q = q.or_filter(
                crate::domain::erasure::lower_nullable(m::frozen_reason)
                    .like(pattern)
                    .escape('\\'),
            );
        }
        let rows: Vec<(i64, Option<String>)> = q.load($c).await?;
        let mut scrubbed = 0;
        for (id, reason) in rows {
            let new = reason.as_deref().map(|r| erasure.text(r));
            if new != reason {
                diesel::update(m::table.find(id))
                    .set(m::frozen_reason.eq(new))
                    .execute($c)
                    .await?;
                scrubbed += 1;
            }
        }
        scrubbed
    }};
}
pub(crate) use scrub_reasons;

/// Forgets `$member`'s email outside the members table: pending invitations bound to
/// it are revoked and every invitation's copy erased; its sign-in throttle goes.
macro_rules! forget_email {
    ($c:expr, $member:expr, $now:expr) => {{
        let key = crate::domain::validate::key(&$member.email);
        let bound = crate::db::schema::invitations::table
            .filter(crate::db::schema::invitations::email_key.eq(&key));
        diesel::update(
            bound.filter(
                crate::db::schema::invitations::status
                    .eq(crate::domain::invitations::InvitationStatus::Pending),
            ),
        )
        .set((
            crate::db::schema::invitations::status
                .eq(crate::domain::invitations::InvitationStatus::Revoked),
            crate::db::schema::invitations::revoked_at.eq(Some($now)),
        ))
        .execute($c)
        .await?;
        diesel::update(bound)
            .set((
                crate::db::schema::invitations::email.eq(None::<String>),
                crate::db::schema::invitations::email_key.eq(None::<String>),
            ))
            .execute($c)
            .await?;
        diesel::delete(
            crate::db::schema::throttles::table
                .find(crate::domain::throttle::account_key(&$member.email)),
        )
        .execute($c)
        .await?;
    }};
}

pub(crate) use forget_email;

diesel::define_sql_function! {
    /// The text lower-cased (ASCII only on SQLite; the exact-case pattern covers the rest).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// [`lower`] of a nullable text.
    #[sql_name = "lower"]
    fn lower_nullable(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(email: &str, name: &str) -> Member {
        let t = chrono::NaiveDateTime::default();
        Member {
            id: 7,
            email: email.into(),
            name: name.into(),
            role_id: 1,
            status: crate::domain::members::MemberStatus::Active,
            must_change_password: false,
            frozen_at: None,
            frozen_reason: None,
            invited_by: None,
            last_login_at: None,
            created_at: t,
            updated_at: t,
            version: 1,
            password_expires_at: None,
            frozen_until: None,
            removed_at: None,
        }
    }

    #[test]
    fn erases_the_email_anywhere_and_the_name_as_a_word() {
        let e = Erasure::of(&member("Ann.Lee@Example.com", "Ann Lee")).unwrap();
        assert_eq!(
            e.json(
                r#"{"email":"ann.lee@example.COM","reason":"ann lee left; Annual review","x":1}"#
            ),
            r#"{"email":"[erased]","reason":"[erased] left; Annual review","x":1}"#
        );
        let e = Erasure::of(&member("a@b.c", "Al")).unwrap();
        assert_eq!(e.text("Also Al, al."), "Also [erased], [erased].");
        assert_eq!(e.text("Dr. \"Q\""), "Dr. \"Q\"");
    }

    #[test]
    fn finds_names_as_json_writes_them() {
        let e = Erasure::of(&member("a@b.c", "Q \"the\" Ü")).unwrap();
        assert!(
            e.like.contains(&r#"%q \\"the\\" ü%"#.to_owned()),
            "{:?}",
            e.like
        );
        assert_eq!(e.json(r#"["Q \"the\" ü"]"#), r#"["[erased]"]"#);
    }
}
