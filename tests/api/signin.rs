//! Sign-in, sessions, `me`, `logout`, `changePassword` and the access rules.

use chrono::Duration;
use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

const ME: &str = "{ me { id email name mustChangePassword lastLoginAt role { name builtIn } } }";
const CHANGE_PASSWORD: &str = "mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    session { token expiresAt member { id mustChangePassword version } }
    errors { code field message }
  }
}";

on_both_databases!(
    login_opens_a_session_that_me_recognises,
    wrong_password_and_unknown_email_give_the_same_error,
    login_email_is_case_insensitive,
    oversized_or_empty_credentials_are_refused,
    requests_without_a_live_session_are_unauthenticated,
    logout_ends_only_that_session,
    session_expires_after_the_ttl,
    session_works_on_another_instance_and_after_restart,
    change_password_refuses_wrong_current_and_weak_new_passwords,
    change_password_ends_other_sessions_and_returns_a_fresh_one,
    member_who_must_change_password_may_only_change_it,
    permissions_are_checked_per_field,
);

async fn login_opens_a_session_that_me_recognises(app: TestApp) {
    let data = app
        .ok(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    let session = &data["login"]["session"];
    let token = session["token"].as_str().unwrap();
    assert!(token.len() >= 22, "token carries at least 128 bits");
    let expires =
        chrono::DateTime::parse_from_rfc3339(session["expiresAt"].as_str().unwrap()).unwrap();
    let ttl =
        expires.with_timezone(&chrono::Utc) - roster::clock::Clock::now_utc(app.clock.as_ref());
    assert!(
        (ttl - Duration::hours(12)).num_seconds().abs() <= 1,
        "default TTL is 12 h, got {ttl}"
    );

    let me = app.ok(Some(token), ME, json!({})).await;
    assert_eq!(me["me"]["email"], ADMIN_EMAIL);
    assert_eq!(
        me["me"]["role"],
        json!({ "name": "Administrator", "builtIn": true })
    );
    assert_eq!(me["me"]["mustChangePassword"], false);
    assert!(me["me"]["lastLoginAt"].is_string());
}

async fn wrong_password_and_unknown_email_give_the_same_error(app: TestApp) {
    let wrong = app
        .ok(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": "not-the-password" }),
        )
        .await;
    let unknown = app
        .ok(
            None,
            LOGIN,
            json!({ "email": "nobody@example.com", "password": "not-the-password" }),
        )
        .await;
    assert_eq!(wrong["login"]["session"], json!(null));
    assert_eq!(user_error(&wrong, "login"), "INVALID_CREDENTIALS");
    assert_eq!(
        wrong["login"]["errors"], unknown["login"]["errors"],
        "nothing tells the two apart"
    );
}

async fn login_email_is_case_insensitive(app: TestApp) {
    let token = app.login("  ADMIN@Example.COM ", ADMIN_PASSWORD).await;
    assert_eq!(
        app.ok(Some(&token), ME, json!({})).await["me"]["email"],
        ADMIN_EMAIL
    );
}

async fn oversized_or_empty_credentials_are_refused(app: TestApp) {
    let huge = "x".repeat(100_000);
    for (email, password) in [
        ("", ""),
        (ADMIN_EMAIL, ""),
        (ADMIN_EMAIL, huge.as_str()),
        (huge.as_str(), "x"),
    ] {
        let data = app
            .ok(None, LOGIN, json!({ "email": email, "password": password }))
            .await;
        assert_eq!(user_error(&data, "login"), "INVALID_CREDENTIALS");
    }
    let missing = app
        .gql(
            None,
            "mutation { login(email: \"a@b.c\") { errors { code } } }",
            json!({}),
        )
        .await;
    assert!(
        missing["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("password")
    );
}

async fn requests_without_a_live_session_are_unauthenticated(app: TestApp) {
    for token in [None, Some("not-a-token"), Some("")] {
        for query in [
            ME,
            "{ roles { id } }",
            "{ members { totalCount } }",
            "mutation { logout }",
        ] {
            let resp = app.gql(token, query, json!({})).await;
            assert_eq!(
                error_code(&resp),
                "UNAUTHENTICATED",
                "{query} with {token:?}"
            );
            assert!(resp["data"].is_null(), "{resp}");
        }
    }
}

async fn logout_ends_only_that_session(app: TestApp) {
    let (first, second) = (app.admin().await, app.admin().await);
    assert_eq!(
        app.ok(Some(&first), "mutation { logout }", json!({})).await["logout"],
        true
    );
    assert_eq!(
        error_code(&app.gql(Some(&first), ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    app.ok(Some(&second), ME, json!({})).await;
}

async fn session_expires_after_the_ttl(app: TestApp) {
    let token = app.admin().await;
    app.clock
        .advance(Duration::hours(12) - Duration::minutes(1));
    app.ok(Some(&token), ME, json!({})).await;
    app.clock.advance(Duration::minutes(2));
    assert_eq!(
        error_code(&app.gql(Some(&token), ME, json!({})).await),
        "UNAUTHENTICATED"
    );
}

async fn session_works_on_another_instance_and_after_restart(app: TestApp) {
    let token = app.admin().await;
    let other = app.second_instance().await;
    assert_eq!(
        other.ok(Some(&token), ME, json!({})).await["me"]["email"],
        ADMIN_EMAIL
    );
    other
        .ok(Some(&token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(
        error_code(&app.gql(Some(&token), ME, json!({})).await),
        "UNAUTHENTICATED"
    );
}

async fn change_password_refuses_wrong_current_and_weak_new_passwords(app: TestApp) {
    let token = app.admin().await;
    let cases = [
        (
            "wrong-current-pw",
            "a-good-new-password",
            "INVALID_CREDENTIALS",
            "currentPassword",
        ),
        (ADMIN_PASSWORD, "short", "PASSWORD_POLICY", "newPassword"),
        (
            ADMIN_PASSWORD,
            ADMIN_PASSWORD,
            "PASSWORD_POLICY",
            "newPassword",
        ),
        (
            ADMIN_PASSWORD,
            &"p".repeat(257),
            "PASSWORD_POLICY",
            "newPassword",
        ),
    ];
    for (current, new, code, field) in cases {
        let data = app
            .ok(
                Some(&token),
                CHANGE_PASSWORD,
                json!({ "current": current, "new": new }),
            )
            .await;
        assert_eq!(
            user_error(&data, "changePassword"),
            code,
            "{current} -> {new}"
        );
        assert_eq!(data["changePassword"]["errors"][0]["field"], json!([field]));
        assert_eq!(data["changePassword"]["session"], json!(null));
    }
    // Nothing changed: the old password still signs in, the session still works.
    app.ok(Some(&token), ME, json!({})).await;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

async fn change_password_ends_other_sessions_and_returns_a_fresh_one(app: TestApp) {
    let (token, other) = (app.admin().await, app.admin().await);
    let data = app
        .ok(
            Some(&token),
            CHANGE_PASSWORD,
            json!({ "current": ADMIN_PASSWORD, "new": "brand-new-password" }),
        )
        .await;
    let session = &data["changePassword"]["session"];
    assert_eq!(data["changePassword"]["errors"], json!([]));
    assert_eq!(session["member"]["version"], 2);
    let fresh = session["token"].as_str().unwrap();
    for old in [&token, &other] {
        assert_eq!(
            error_code(&app.gql(Some(old), ME, json!({})).await),
            "UNAUTHENTICATED"
        );
    }
    app.ok(Some(fresh), ME, json!({})).await;
    let old_pw = app
        .ok(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(user_error(&old_pw, "login"), "INVALID_CREDENTIALS");
    app.login(ADMIN_EMAIL, "brand-new-password").await;
}

async fn member_who_must_change_password_may_only_change_it(app: TestApp) {
    let db = app.db.clone();
    drop(app);
    // A first start without a configured password: random password, must change it.
    let app = fresh_app_without_admin_password(db).await;
    let (email, password) = app.1;
    let app = app.0;
    let data = app
        .ok(None, LOGIN, json!({ "email": email, "password": password }))
        .await;
    assert_eq!(
        data["login"]["session"]["member"]["mustChangePassword"],
        true
    );
    let token = data["login"]["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for query in [
        "{ roles { id } }",
        "{ members { totalCount } }",
        "{ role(id: \"1\") { id } }",
    ] {
        assert_eq!(
            error_code(&app.gql(Some(&token), query, json!({})).await),
            "PASSWORD_CHANGE_REQUIRED"
        );
    }
    app.ok(Some(&token), ME, json!({})).await;
    let changed = app
        .ok(
            Some(&token),
            CHANGE_PASSWORD,
            json!({ "current": password, "new": "my-own-password" }),
        )
        .await;
    let fresh = changed["changePassword"]["session"]["token"]
        .as_str()
        .unwrap();
    assert_eq!(
        changed["changePassword"]["session"]["member"]["mustChangePassword"],
        false
    );
    app.ok(
        Some(fresh),
        "{ roles { id } members { totalCount } }",
        json!({}),
    )
    .await;
}

/// A server on an empty database of the same backend, bootstrapped without a password.
async fn fresh_app_without_admin_password(
    db: std::sync::Arc<TestDb>,
) -> (TestApp, (String, String)) {
    let backend = db.backend();
    drop(db);
    let db = std::sync::Arc::new(TestDb::new(backend).await.unwrap());
    let (app, password) = TestApp::first_start(db).await;
    assert_eq!(password.len(), 20);
    (app, ("first@example.com".to_owned(), password))
}

async fn permissions_are_checked_per_field(app: TestApp) {
    let admin = app.admin().await;
    let viewer_role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, viewer) = app.member_with("viewer@example.com", &viewer_role).await;
    app.ok(
        Some(&viewer),
        "{ members { totalCount } roles { id } }",
        json!({}),
    )
    .await;
    let resp = app
        .gql(
            Some(&viewer),
            CREATE_ROLE,
            json!({ "input": { "name": "X", "permissions": [] } }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ROLES_MANAGE")
    );

    let nothing_role = app.create_role(&admin, "Nothing", &[]).await;
    let (_, nobody) = app.member_with("nobody@example.com", &nothing_role).await;
    assert_eq!(
        error_code(
            &app.gql(Some(&nobody), "{ members { totalCount } }", json!({}))
                .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.gql(Some(&nobody), "{ member(id: \"1\") { id } }", json!({}))
                .await
        ),
        "FORBIDDEN"
    );
    app.ok(Some(&nobody), ME, json!({})).await;
}
