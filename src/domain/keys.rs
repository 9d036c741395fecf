//! Re-keying the rows made before email and role-name keys were NFC and case-folded
//! (migration 9 marks a database that has them): once, at start, in one transaction.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Pool;
use crate::db::schema::{invitations, members, roles, settings};
use crate::db::transaction;
use crate::domain::validate;
use crate::error::{Error, Result};

/// Rows as (id, text, stored key).
type Keyed = Vec<(i64, String, String)>;

/// The rows whose key changes, with their new key. Rows whose texts now share one key
/// (the NFC and NFD spellings of one address) keep their old keys, with a warning: the
/// unique index would refuse them, and which of them to rename is an operator's call.
fn changes(rows: Keyed, what: &str) -> Vec<(i64, String)> {
    let new: Vec<(i64, String, String)> = rows
        .into_iter()
        .map(|(id, text, old)| (id, validate::key(&text), old))
        .collect();
    let mut holders: HashMap<&str, Vec<i64>> = HashMap::new();
    for (id, key, _) in &new {
        holders.entry(key.as_str()).or_default().push(*id);
    }
    for (key, ids) in holders.iter().filter(|(_, ids)| ids.len() > 1) {
        tracing::warn!(
            ?ids,
            key,
            "these {what} are one under Unicode normalization; rename all but one"
        );
    }
    new.iter()
        .filter(|(_, key, old)| key != old && holders[key.as_str()].len() == 1)
        .map(|(id, key, _)| (*id, key.clone()))
        .collect()
}

/// A key no real text folds to (emails and names refuse control characters), held
/// for a moment so that two rows can swap keys.
fn parked(id: i64) -> String {
    format!("\u{1}rekey:{id}")
}

/// Re-keys the unique `$key` column of `$table` from its `$text` column, in two
/// passes (every moving row is parked first) so that no two rows hold one key between
/// the statements.
macro_rules! rekey_unique {
    ($c:expr, $table:ident, $text:ident, $key:ident, $what:expr) => {{
        let rows: Keyed = $table::table
            .select(($table::id, $table::$text, $table::$key))
            .load($c)
            .await?;
        let moves = changes(rows, $what);
        for parking in [true, false] {
            for (id, key) in &moves {
                let key = if parking { parked(*id) } else { key.clone() };
                diesel::update($table::table.find(*id))
                    .set($table::$key.eq(key))
                    .execute($c)
                    .await?;
            }
        }
    }};
}

/// Re-keys members, roles and invitations once per database; other instances
/// starting at the same moment find the work claimed and skip it.
pub async fn rekey(pool: &Pool) -> Result<()> {
    let mut conn = pool.get().await?;
    transaction!(&mut conn, |c| {
        let claimed = diesel::update(settings::table.find(1).filter(settings::keys_version.eq(0)))
            .set(settings::keys_version.eq(1))
            .execute(c)
            .await?;
        if claimed == 0 {
            return Ok::<_, Error>(());
        }
        rekey_unique!(c, members, email, email_key, "member emails");
        rekey_unique!(c, roles, name, name_key, "role names");
        // Invitation keys are not unique: one pass.
        let rows: Vec<(i64, Option<String>)> = invitations::table
            .filter(invitations::email.is_not_null())
            .select((invitations::id, invitations::email))
            .load(c)
            .await?;
        for (id, email) in rows {
            let key = email.as_deref().map(validate::key);
            diesel::update(invitations::table.find(id))
                .set(invitations::email_key.eq(key))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}
