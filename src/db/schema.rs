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
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        member_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    settings (id) {
        id -> Integer,
        default_password_hash -> Nullable<Text>,
        password_min_length -> Integer,
        session_ttl_minutes -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(members -> roles (role_id));
diesel::joinable!(sessions -> members (member_id));
diesel::allow_tables_to_appear_in_same_query!(roles, members, sessions, settings);
