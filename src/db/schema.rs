//! Diesel table definitions, shared by both backends (see `migrations/`).

diesel::table! {
    roles (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        permissions -> Text,
        built_in -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        email -> Text,
        email_key -> Text,
        name -> Text,
        search_key -> Text,
        role_id -> BigInt,
        status -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        frozen_at -> Nullable<Timestamp>,
        frozen_reason -> Nullable<Text>,
        invited_by -> Nullable<BigInt>,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        password_expires_at -> Nullable<Timestamp>,
        reset_token_hash -> Nullable<Text>,
        reset_expires_at -> Nullable<Timestamp>,
        frozen_until -> Nullable<Timestamp>,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        member_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    settings (id) {
        id -> Integer,
        default_password_hash -> Nullable<Text>,
        password_min_length -> Integer,
        session_ttl_minutes -> Integer,
        updated_at -> Timestamp,
        reset_password_valid_hours -> Integer,
        default_password_set_by -> Nullable<BigInt>,
        keys_version -> Integer,
        audit_retention_days -> Nullable<Integer>,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        token_hash -> Text,
        role_id -> BigInt,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        status -> Text,
        validity_days -> Integer,
        expires_at -> Timestamp,
        created_by -> BigInt,
        created_at -> Timestamp,
        accepted_by -> Nullable<BigInt>,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        issued_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        action -> Text,
        actor_id -> Nullable<BigInt>,
        target_member_id -> Nullable<BigInt>,
        target_role_id -> Nullable<BigInt>,
        details -> Text,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
        changes -> Text,
        reason -> Nullable<Text>,
        /// The live feed's position of an event about members, invitations or roles:
        /// given in commit order (migration live_sequence); NULL for the others, and on
        /// PostgreSQL until the sequencer numbers it.
        live_seq -> Nullable<BigInt>,
    }
}

diesel::joinable!(members -> roles (role_id));
diesel::joinable!(sessions -> members (member_id));
diesel::joinable!(invitations -> roles (role_id));
diesel::allow_tables_to_appear_in_same_query!(
    roles,
    members,
    sessions,
    settings,
    invitations,
    audit_events,
    throttles,
    member_counts
);

diesel::table! {
    throttles (key) {
        key -> Text,
        window_start -> Timestamp,
        attempts -> Integer,
    }
}

diesel::table! {
    /// Members per (status, role), kept by triggers (migration member_counts): one row
    /// per pair on SQLite, rows to add up on PostgreSQL (migration member_count_rows).
    member_counts (status, role_id) {
        status -> Text,
        role_id -> BigInt,
        n -> BigInt,
    }
}
