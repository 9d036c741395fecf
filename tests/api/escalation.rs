//! Paths by which a lesser member once reached a greater account: resets racing
//! promotions, the default password, demoted inviters, roles deleted mid-act.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    a_reset_cannot_race_a_promotion,
    reset_password_takes_an_expected_version,
    the_default_password_only_reaches_roles_its_setter_holds,
    a_reset_link_ends_the_old_password_and_dies_with_a_freeze,
    invitations_need_an_issuer_who_still_holds_the_role,
    the_reissuer_is_the_new_members_inviter,
    a_frozen_reissuers_link_grants_nothing,
    acts_racing_a_role_deletion_fail_cleanly,
    an_accept_racing_a_freeze_of_its_issuer_ends_one_way,
    the_built_in_role_keeps_its_name_in_any_case,
    an_unbound_link_is_no_free_oracle_of_members,
    other_members_need_members_view_by_any_path,
    throttle_rows_hold_no_typed_text_and_expire,
    control_characters_are_named_as_such,
    look_alike_emails_and_role_names_are_one_or_refused,
    keys_made_before_normalization_are_rekeyed_once,
    what_a_reset_hands_out_is_marked_in_the_audit_log,
);

const RESET: &str = "mutation($id: ID!, $mode: PasswordResetMode, $v: Int) {
  resetPassword(memberId: $id, mode: $mode, expectedVersion: $v) { member { version } temporaryPassword resetLink errors { code field } }
}";
const EDIT: &str = "mutation($id: ID!, $role: ID!, $v: Int) {
  editPermission(memberId: $id, roleId: $role, expectedVersion: $v) { changed errors { code field } }
}";
const VERSION: &str = "query($id: ID!) { member(id: $id) { version } }";
const SET_DEFAULT: &str = "mutation($pw: String!) { updateSecuritySettings(input: { defaultPassword: $pw }) { errors { code field } } }";
const ME_ROLE: &str = "{ me { role { builtIn } } }";
const DEFAULT_PASSWORD: &str = "default-pass-123";

fn errors_of<'a>(data: &'a Value, mutation: &str) -> &'a Vec<Value> {
    data[mutation]["errors"].as_array().unwrap()
}

async fn version(app: &TestApp, admin: &str, id: i64) -> i64 {
    app.ok(Some(admin), VERSION, json!({ "id": id.to_string() }))
        .await["member"]["version"]
        .as_i64()
        .unwrap()
}

async fn a_reset_cannot_race_a_promotion(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let resetter_role = app
        .create_role(
            &admin,
            "Resetter",
            &["MEMBERS_RESET_PASSWORD", "MEMBERS_VIEW"],
        )
        .await;
    let (_, resetter) = app
        .member_with("resetter@example.com", &resetter_role)
        .await;
    let (mut resets, mut edits) = (0, 0);
    for round in 0..20 {
        let victim = app
            .add_members_as(&[format!("v{round}@example.com")], "Victim", &viewer)
            .await[0];
        let v = version(&app, &admin, victim).await;
        let reset = app.ok(
            Some(&resetter),
            RESET,
            json!({ "id": victim.to_string(), "mode": "TEMPORARY_PASSWORD" }),
        );
        let edit = app.ok(
            Some(&admin),
            EDIT,
            json!({ "id": victim.to_string(), "role": admin_role, "v": v }),
        );
        let (reset, edit) = tokio::join!(reset, edit);
        let reset_ok = errors_of(&reset, "resetPassword").is_empty();
        let edit_ok = errors_of(&edit, "editPermission").is_empty();
        assert!(
            !(reset_ok && edit_ok),
            "round {round}: both won: {reset} {edit}"
        );
        resets += usize::from(reset_ok);
        edits += usize::from(edit_ok);
        if reset_ok {
            let temporary = reset["resetPassword"]["temporaryPassword"]
                .as_str()
                .unwrap();
            let token = app.login(&format!("v{round}@example.com"), temporary).await;
            let me = app.ok(Some(&token), ME_ROLE, json!({})).await;
            assert_eq!(me["me"]["role"]["builtIn"], false, "round {round}");
        }
    }
    assert_eq!(resets + edits, 20, "one of the two wins each round");
}

async fn reset_password_takes_an_expected_version(app: TestApp) {
    let admin = app.admin().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let member = app.add_members_as(&["m@example.com"], "M", &viewer).await[0];
    let v = version(&app, &admin, member).await;
    let vars = |v: i64| json!({ "id": member.to_string(), "mode": "TEMPORARY_PASSWORD", "v": v });
    let stale = app.ok(Some(&admin), RESET, vars(v + 1)).await;
    assert_eq!(user_error(&stale, "resetPassword"), "STALE_VERSION");
    assert_eq!(stale["resetPassword"]["temporaryPassword"], Value::Null);
    let done = app.ok(Some(&admin), RESET, vars(v)).await;
    assert_eq!(done["resetPassword"]["errors"], json!([]), "{done}");
    assert_eq!(done["resetPassword"]["member"]["version"], v + 1);
}

async fn the_default_password_only_reaches_roles_its_setter_holds(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let settings_role = app
        .create_role(&admin, "Settings", &["SECURITY_SETTINGS_MANAGE"])
        .await;
    let nothing = app.create_role(&admin, "Nothing", &[]).await;
    let (_, setter) = app.member_with("setter@example.com", &settings_role).await;
    let set = app
        .ok(
            Some(&setter),
            SET_DEFAULT,
            json!({ "pw": DEFAULT_PASSWORD }),
        )
        .await;
    assert_eq!(set["updateSecuritySettings"]["errors"], json!([]));
    let other_admin = app
        .add_members_as(&["a2@example.com"], "A2", &admin_role)
        .await[0];
    let plain = app
        .add_members_as(&["plain@example.com"], "P", &nothing)
        .await[0];
    let reset = |id: i64| json!({ "id": id.to_string(), "mode": "DEFAULT_PASSWORD" });
    let refused = app.ok(Some(&admin), RESET, reset(other_admin)).await;
    assert_eq!(
        user_error(&refused, "resetPassword"),
        "PRIVILEGE_ESCALATION"
    );
    assert_eq!(
        refused["resetPassword"]["errors"][0]["field"],
        json!(["mode"])
    );
    assert_eq!(
        app.login_outcome("a2@example.com", DEFAULT_PASSWORD).await,
        "INVALID_CREDENTIALS",
        "the administrator's password did not change"
    );
    // A role the setter holds every permission of (none) may be reset to it.
    let allowed = app.ok(Some(&admin), RESET, reset(plain)).await;
    assert_eq!(allowed["resetPassword"]["errors"], json!([]), "{allowed}");
    // Once an administrator sets it, it reaches administrators too.
    app.ok(
        Some(&admin),
        SET_DEFAULT,
        json!({ "pw": "admin-default-9" }),
    )
    .await;
    let done = app.ok(Some(&admin), RESET, reset(other_admin)).await;
    assert_eq!(done["resetPassword"]["errors"], json!([]), "{done}");
    assert_eq!(
        app.login_outcome("a2@example.com", "admin-default-9").await,
        "OK"
    );
}

async fn a_reset_link_ends_the_old_password_and_dies_with_a_freeze(app: TestApp) {
    let admin = app.admin().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let member = app.add_members_as(&["m@example.com"], "M", &viewer).await[0];
    let link = app
        .ok(
            Some(&admin),
            RESET,
            json!({ "id": member.to_string(), "mode": "RESET_LINK" }),
        )
        .await["resetPassword"]["resetLink"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.login_outcome("m@example.com", MEMBER_PASSWORD).await,
        "INVALID_CREDENTIALS",
        "the old password stops at the reset"
    );
    let complete = "mutation($t: String!, $pw: String!) { completePasswordReset(token: $t, newPassword: $pw) { errors { code } } }";
    let reuse = app
        .ok(
            None,
            complete,
            json!({ "t": secret_of(&link), "pw": MEMBER_PASSWORD }),
        )
        .await;
    assert_eq!(
        user_error(&reuse, "completePasswordReset"),
        "PASSWORD_POLICY",
        "still not the old one"
    );
    for act in ["freeze", "recover"] {
        let q = format!("mutation($id: ID!) {{ {act}(memberId: $id) {{ errors {{ code }} }} }}");
        app.ok(Some(&admin), &q, json!({ "id": member.to_string() }))
            .await;
    }
    let dead = app
        .ok(
            None,
            complete,
            json!({ "t": secret_of(&link), "pw": "a-new-password-1" }),
        )
        .await;
    assert_eq!(user_error(&dead, "completePasswordReset"), "TOKEN_INVALID");
}

const PREVIEW: &str = "query($t: String!) { invitationPreview(token: $t) { roleName } }";

async fn invitations_need_an_issuer_who_still_holds_the_role(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let inviter_role = app
        .create_role(
            &admin,
            "Inviter",
            &["MEMBERS_INVITE", "MEMBERS_VIEW", "ROLES_MANAGE"],
        )
        .await;
    let ops = app
        .create_role(&admin, "Ops", &["MEMBERS_VIEW", "ROLES_MANAGE"])
        .await;
    let (admin3, admin3_token) = app.member_with("admin3@example.com", &admin_role).await;
    let (_, inviter) = app.member_with("inviter@example.com", &inviter_role).await;
    let (_, to_admin) = app.invite(&admin3_token, &admin_role, None).await;
    let (_, to_ops) = app.invite(&inviter, &ops, None).await;
    let demote = json!({ "id": admin3.to_string(), "role": viewer });
    app.ok(Some(&admin), EDIT, demote).await;
    let narrow = "mutation($id: ID!) { updateRole(id: $id, input: { permissions: [MEMBERS_INVITE, MEMBERS_VIEW] }) { errors { code } } }";
    app.ok(Some(&admin), narrow, json!({ "id": inviter_role }))
        .await;
    for secret in [&to_admin, &to_ops] {
        let preview = app.ok(None, PREVIEW, json!({ "t": secret })).await;
        assert_eq!(preview["invitationPreview"], Value::Null);
        let accepted = app
            .accept(secret, "new@example.com", "New", "new-member-password")
            .await;
        assert_eq!(accepted["errors"][0]["code"], "TOKEN_INVALID", "{accepted}");
    }
    // Promoted back, admin3's link works again: the rule reads the issuer now.
    let promote = json!({ "id": admin3.to_string(), "role": admin_role });
    app.ok(Some(&admin), EDIT, promote).await;
    let accepted = app
        .accept(&to_admin, "new@example.com", "New", "new-member-password")
        .await;
    assert_eq!(accepted["errors"], json!([]), "{accepted}");
}

async fn the_reissuer_is_the_new_members_inviter(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, other) = app.member_with("other@example.com", &admin_role).await;
    // A viewer sees their inviter in the sign-up's own payload.
    let (invitation, _) = app.invite(&admin, &viewer, None).await;
    let reissue = "mutation($id: ID!) { reissueInvitation(id: $id) { link errors { code } } }";
    let data = app
        .ok(Some(&other), reissue, json!({ "id": invitation }))
        .await;
    let link = data["reissueInvitation"]["link"].as_str().unwrap();
    let accepted = app
        .accept(
            &secret_of(link),
            "new@example.com",
            "New",
            "new-member-password",
        )
        .await;
    assert_eq!(
        accepted["session"]["member"]["invitedBy"]["email"], "other@example.com",
        "{accepted}"
    );
}

async fn a_frozen_reissuers_link_grants_nothing(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    // A role without permissions: any active issuer holds all of it.
    let nothing = app.create_role(&admin, "Nothing", &[]).await;
    let (other_id, other) = app.member_with("other@example.com", &admin_role).await;
    let (invitation, _) = app.invite(&admin, &nothing, None).await;
    let reissue = "mutation($id: ID!) { reissueInvitation(id: $id) { link errors { code } } }";
    let data = app
        .ok(Some(&other), reissue, json!({ "id": invitation }))
        .await;
    let secret = secret_of(data["reissueInvitation"]["link"].as_str().unwrap());
    let freeze = "mutation($id: ID!) { freeze(memberId: $id) { errors { code } } }";
    app.ok(Some(&admin), freeze, json!({ "id": other_id.to_string() }))
        .await;
    let accepted = app
        .accept(&secret, "new@example.com", "New", "new-member-password")
        .await;
    assert_eq!(accepted["errors"][0]["code"], "TOKEN_INVALID", "{accepted}");
}

async fn acts_racing_a_role_deletion_fail_cleanly(app: TestApp) {
    let admin = app.admin().await;
    let fallback = app.create_role(&admin, "Fallback", &["MEMBERS_VIEW"]).await;
    let delete =
        "mutation($id: ID!, $to: ID) { deleteRole(id: $id, reassignTo: $to) { errors { code } } }";
    let invite =
        "mutation($role: ID!) { invite(roleId: $role, validity: ONE_DAY) { errors { code } } }";
    for round in 0..8 {
        let doomed = app
            .create_role(&admin, &format!("Doomed {round}"), &["MEMBERS_VIEW"])
            .await;
        let (_, secret) = app.invite(&admin, &doomed, None).await;
        let member = app
            .add_members_as(&[format!("m{round}@example.com")], "M", &fallback)
            .await[0];
        let vars = json!({ "id": doomed, "to": fallback });
        let email = format!("new{round}@example.com");
        let (deleted, accepted, invited, edited) = tokio::join!(
            app.gql(Some(&admin), delete, vars),
            app.gql(None, ACCEPT, json!({ "token": secret, "email": email, "name": "N", "password": "new-member-password" })),
            app.gql(Some(&admin), invite, json!({ "role": doomed })),
            app.gql(Some(&admin), EDIT, json!({ "id": member.to_string(), "role": doomed })),
        );
        for resp in [&deleted, &accepted, &invited, &edited] {
            assert!(resp.get("errors").is_none(), "round {round}: {resp}");
        }
        let code = |resp: &Value, m: &str| {
            resp["data"][m]["errors"][0]["code"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(
            code(&deleted, "deleteRole"),
            None,
            "round {round}: {deleted}"
        );
        for (resp, m) in [(&invited, "invite"), (&edited, "editPermission")] {
            let c = code(resp, m);
            assert!(
                c.is_none() || c.as_deref() == Some("NOT_FOUND"),
                "round {round}: {resp}"
            );
        }
    }
}

/// Accepting an invitation while its issuer is frozen: either the member joins (and the
/// invitation stays accepted) or the link is revoked and refused; never both, never a
/// fault (the two lock the issuer and the invitation in the same order).
async fn an_accept_racing_a_freeze_of_its_issuer_ends_one_way(app: TestApp) {
    let admin = app.admin().await;
    let inviter_role = app
        .create_role(&admin, "Inviter", &["MEMBERS_INVITE", "MEMBERS_VIEW"])
        .await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let freeze = "mutation($id: ID!) { freeze(memberId: $id) { changed errors { code } } }";
    let recover = "mutation($id: ID!) { recover(memberId: $id) { changed errors { code } } }";
    let (issuer, token) = app.member_with("issuer@example.com", &inviter_role).await;
    for round in 0..8 {
        let token = match round {
            0 => token.clone(),
            _ => app.login("issuer@example.com", MEMBER_PASSWORD).await,
        };
        let (_, secret) = app.invite(&token, &viewer, None).await;
        let email = format!("joiner{round}@example.com");
        let (accepted, frozen) = tokio::join!(
            app.gql(None, ACCEPT, json!({ "token": secret, "email": email, "name": "J", "password": "new-member-password" })),
            app.gql(Some(&admin), freeze, json!({ "id": issuer.to_string() })),
        );
        assert!(frozen.get("errors").is_none(), "round {round}: {frozen}");
        assert!(
            accepted.get("errors").is_none(),
            "round {round}: {accepted}"
        );
        let refused = &accepted["data"]["acceptInvitation"]["errors"][0]["code"];
        let joined = accepted["data"]["acceptInvitation"]["session"].is_object();
        assert!(joined != refused.is_string(), "round {round}: {accepted}");
        if !joined {
            assert_eq!(refused, "TOKEN_INVALID", "round {round}: {accepted}");
        }
        let q = "query($e: String!) { members(filter: { search: $e }) { totalCount } }";
        let found = app.ok(Some(&admin), q, json!({ "e": email })).await;
        assert_eq!(
            found["members"]["totalCount"],
            i64::from(joined),
            "round {round}"
        );
        app.ok(Some(&admin), recover, json!({ "id": issuer.to_string() }))
            .await;
    }
}

async fn the_built_in_role_keeps_its_name_in_any_case(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let rename = "mutation($id: ID!, $name: String!) { updateRole(id: $id, input: { name: $name }) { role { name } errors { code } } }";
    let data = app
        .ok(
            Some(&admin),
            rename,
            json!({ "id": admin_role, "name": "ADMINISTRATOR" }),
        )
        .await;
    assert_eq!(user_error(&data, "updateRole"), "BUILT_IN_ROLE");
    let roles = app
        .ok(Some(&admin), "{ roles { name builtIn } }", json!({}))
        .await;
    assert_eq!(roles["roles"][0]["name"], "Administrator");
}

async fn an_unbound_link_is_no_free_oracle_of_members(app: TestApp) {
    let admin = app.admin().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, secret) = app.invite(&admin, &viewer, None).await;
    let mut outcomes = Vec::new();
    for _ in 0..22 {
        let resp = app
            .gql(None, ACCEPT, json!({ "token": secret, "email": ADMIN_EMAIL, "name": "N", "password": "new-member-password" }))
            .await;
        let outcome = resp["errors"][0]["extensions"]["code"]
            .as_str()
            .or(resp["data"]["acceptInvitation"]["errors"][0]["code"].as_str())
            .unwrap_or("OK")
            .to_owned();
        outcomes.push(outcome);
    }
    assert!(
        outcomes[..20].iter().all(|o| o == "NAME_TAKEN"),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[20], "RATE_LIMITED", "{outcomes:?}");
}

async fn other_members_need_members_view_by_any_path(app: TestApp) {
    let admin = app.admin().await;
    let auditor_role = app
        .create_role(&admin, "Auditor", &["AUDIT_LOG_VIEW"])
        .await;
    let inviter_role = app
        .create_role(&admin, "Inviter", &["MEMBERS_INVITE"])
        .await;
    let nothing = app.create_role(&admin, "Nothing", &[]).await;
    let (_, auditor) = app.member_with("auditor@example.com", &auditor_role).await;
    let (_, inviter) = app.member_with("inviter@example.com", &inviter_role).await;
    // The auditor sees who acted on whom by id, email and name, and nothing more.
    let basic =
        "{ auditEvents { nodes { actor { id email name } targetMember { id email name } } } }";
    let data = app.ok(Some(&auditor), basic, json!({})).await;
    let nodes = data["auditEvents"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .any(|n| n["targetMember"]["email"] == "auditor@example.com"),
        "{data}"
    );
    let deeper = "{ auditEvents { nodes { targetMember { email frozenReason lastLoginAt role { permissions } } } } }";
    let resp = app.gql(Some(&auditor), deeper, json!({})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "{resp}");
    let nodes = resp["data"]["auditEvents"]["nodes"].as_array().unwrap();
    let others = nodes
        .iter()
        .map(|n| &n["targetMember"])
        .filter(|m| !m.is_null() && m["email"] != "auditor@example.com");
    for member in others {
        assert!(
            member["lastLoginAt"].is_null() && member["role"].is_null(),
            "{resp}"
        );
    }
    // A member with no permission does not read their inviter's record.
    let (_, secret) = app.invite(&admin, &nothing, None).await;
    let accepted = app
        .accept(&secret, "new@example.com", "New", "new-member-password")
        .await;
    let newcomer = accepted["session"]["token"].as_str().unwrap();
    let me = app
        .ok(
            Some(newcomer),
            "{ me { email invitedBy { email role { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["email"], "new@example.com");
    assert_eq!(me["me"]["invitedBy"], Value::Null, "{me}");
    // An inviter without MEMBERS_VIEW manages their own invitations only; another's id
    // answers like an unknown one.
    let (others, _) = app.invite(&admin, &nothing, None).await;
    let (own, _) = app.invite(&inviter, &nothing, None).await;
    let revoke = "mutation($id: ID!) { revokeInvitation(id: $id) { invitation { status createdBy { email } } errors { code } } }";
    let data = app
        .ok(Some(&inviter), revoke, json!({ "id": others }))
        .await;
    assert_eq!(user_error(&data, "revokeInvitation"), "NOT_FOUND");
    let unknown = app
        .ok(Some(&inviter), revoke, json!({ "id": "999999" }))
        .await;
    assert_eq!(
        unknown["revokeInvitation"]["errors"],
        data["revokeInvitation"]["errors"]
    );
    let data = app.ok(Some(&inviter), revoke, json!({ "id": own })).await;
    assert_eq!(
        data["revokeInvitation"]["invitation"]["createdBy"]["email"], "inviter@example.com",
        "{data}"
    );
}

async fn throttle_rows_hold_no_typed_text_and_expire(app: TestApp) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::throttles;
    let long = format!("{}@example.com\u{0}", "a".repeat(3_000));
    for email in [
        "typed-secret-password@example.com",
        long.as_str(),
        "no address",
    ] {
        let outcome = app.login_outcome(email, "guess-1").await;
        assert_eq!(outcome, "INVALID_CREDENTIALS", "{email:.40}");
    }
    let keys = || async {
        let mut conn = app.state.pool.get().await.unwrap();
        roster::db::with_conn!(&mut conn, |c| throttles::table
            .select(throttles::key)
            .load::<String>(c)
            .await)
        .unwrap()
    };
    let stored = keys().await;
    assert!(!stored.is_empty());
    for key in &stored {
        assert!(key.len() < 100 && !key.contains("typed-secret"), "{key}");
    }
    // Once their window ended, rows go when any key starts a new one.
    app.clock.advance(chrono::Duration::minutes(16));
    app.login_outcome("someone-else@example.com", "guess-1")
        .await;
    // The address's own row starts a new window instead.
    let left = keys().await;
    let old = left
        .iter()
        .filter(|k| stored.contains(k) && !k.starts_with("login:ip:"));
    assert_eq!(old.count(), 0, "{left:?}");
}

async fn control_characters_are_named_as_such(app: TestApp) {
    let admin = app.admin().await;
    let search = "query($s: String) { members(filter: { search: $s }) { totalCount } }";
    let resp = app
        .gql(Some(&admin), search, json!({ "s": "a\u{0}b" }))
        .await;
    let message = resp["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("control characters"), "{resp}");
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let member = app.add_members_as(&["m@example.com"], "M", &viewer).await[0];
    let freeze = "mutation($id: ID!, $r: String) { freeze(memberId: $id, reason: $r) { errors { code message } } }";
    let data = app
        .ok(
            Some(&admin),
            freeze,
            json!({ "id": member.to_string(), "r": "why\u{0}" }),
        )
        .await;
    let message = data["freeze"]["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("control characters"), "{data}");
}

async fn look_alike_emails_and_role_names_are_one_or_refused(app: TestApp) {
    let admin = app.admin().await;
    let viewer = app
        .create_role(&admin, "Caf\u{e9}", &["MEMBERS_VIEW"])
        .await;
    let nfc = "j\u{e9}r\u{f4}me@example.com";
    let nfd = "je\u{301}ro\u{302}me@example.com";
    app.add_members_as(&[nfc], "J", &viewer).await;
    // The other spelling, or another casing, is the same address.
    assert_eq!(app.login_outcome(nfd, MEMBER_PASSWORD).await, "OK");
    assert_eq!(
        app.login_outcome("J\u{c9}R\u{d4}ME@example.com", MEMBER_PASSWORD)
            .await,
        "OK"
    );
    let invite = "mutation($role: ID!, $email: String) { invite(roleId: $role, validity: ONE_DAY, email: $email) { errors { code field } } }";
    let data = app
        .ok(
            Some(&admin),
            invite,
            json!({ "role": viewer, "email": nfd }),
        )
        .await;
    assert_eq!(user_error(&data, "invite"), "NAME_TAKEN");
    for bad in ["admin\u{200b}@localhost", "a\u{202e}b@example.com"] {
        let data = app
            .ok(
                Some(&admin),
                invite,
                json!({ "role": viewer, "email": bad }),
            )
            .await;
        assert_eq!(user_error(&data, "invite"), "INVALID_INPUT", "{bad:?}");
    }
    let create = |name: &str| json!({ "input": { "name": name, "permissions": [] } });
    for (name, code) in [
        ("Administrator\u{200b}", "INVALID_INPUT"),
        ("Cafe\u{301}", "NAME_TAKEN"),
        ("CAF\u{c9}", "NAME_TAKEN"),
    ] {
        let data = app.ok(Some(&admin), CREATE_ROLE, create(name)).await;
        assert_eq!(user_error(&data, "createRole"), code, "{name:?}");
    }
}

async fn keys_made_before_normalization_are_rekeyed_once(app: TestApp) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::{members, settings};
    let admin = app.admin().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (nfc, nfd) = (
        "j\u{e9}r\u{f4}me@example.com",
        "je\u{301}ro\u{302}me@example.com",
    );
    let ids = app
        .add_members_as(&["Stra\u{df}e@example.com", nfc], "M", &viewer)
        .await;
    let twin = app
        .add_members_as(&["twin@example.com"], "M", &viewer)
        .await[0];
    // As an older Roster left them: lower-cased keys, and two spellings of one address.
    let old = [
        (ids[0], "stra\u{df}e@example.com".to_owned()),
        (ids[1], nfc.to_owned()),
        (twin, nfd.to_owned()),
    ];
    let mut conn = app.state.pool.get().await.unwrap();
    roster::db::with_conn!(&mut conn, |c| async {
        for (id, key) in &old {
            diesel::update(members::table.find(id))
                .set(members::email_key.eq(key))
                .execute(c)
                .await?;
        }
        diesel::update(members::table.find(twin))
            .set(members::email.eq(nfd))
            .execute(c)
            .await?;
        diesel::update(settings::table)
            .set(settings::keys_version.eq(0))
            .execute(c)
            .await
    }
    .await)
    .unwrap();
    drop(conn);
    roster::domain::keys::rekey(&app.state.pool).await.unwrap();
    let keys = || async {
        let mut conn = app.state.pool.get().await.unwrap();
        roster::db::with_conn!(&mut conn, |c| members::table
            .filter(members::id.eq_any([ids[0], ids[1], twin]))
            .order(members::id)
            .select(members::email_key)
            .load::<String>(c)
            .await)
        .unwrap()
    };
    // The twins keep their keys (the unique index would refuse one); the rest move.
    assert_eq!(keys().await, ["strasse@example.com", nfc, nfd]);
    assert_eq!(
        app.login_outcome("STRASSE@example.com", MEMBER_PASSWORD)
            .await,
        "OK"
    );
    // Once: a second run finds the work done and changes nothing.
    let mut conn = app.state.pool.get().await.unwrap();
    roster::db::with_conn!(&mut conn, |c| diesel::update(members::table.find(ids[0]))
        .set(members::email_key.eq("stale"))
        .execute(c)
        .await)
    .unwrap();
    drop(conn);
    roster::domain::keys::rekey(&app.state.pool).await.unwrap();
    assert_eq!(keys().await[0], "stale");
}

async fn what_a_reset_hands_out_is_marked_in_the_audit_log(app: TestApp) {
    let admin = app.admin().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let ids = app
        .add_members_as(&["t@example.com", "l@example.com"], "M", &viewer)
        .await;
    let reset = |id: i64, mode: &str| json!({ "id": id.to_string(), "mode": mode });
    let data = app
        .ok(Some(&admin), RESET, reset(ids[0], "TEMPORARY_PASSWORD"))
        .await;
    let temporary = data["resetPassword"]["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = app.login("t@example.com", &temporary).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { errors { code } } }";
    app.ok(
        Some(&session),
        change,
        json!({ "c": temporary, "n": "chosen-password-1" }),
    )
    .await;
    app.login("t@example.com", "chosen-password-1").await;
    let data = app
        .ok(Some(&admin), RESET, reset(ids[1], "RESET_LINK"))
        .await;
    let link = data["resetPassword"]["resetLink"].as_str().unwrap();
    let complete = "mutation($t: String!, $pw: String!) { completePasswordReset(token: $t, newPassword: $pw) { errors { code } } }";
    app.ok(
        None,
        complete,
        json!({ "t": secret_of(link), "pw": "chosen-password-2" }),
    )
    .await;
    let marked = |e: &Value| {
        let details: Value = serde_json::from_str(e["details"].as_str().unwrap()).unwrap();
        details["viaReset"] == true
    };
    let events = app.audit(&admin).await;
    let of = |email: &str, action: &str| -> Vec<bool> {
        events
            .iter()
            .rev()
            .filter(|e| e["targetMember"]["email"] == email && e["action"] == action)
            .map(marked)
            .collect()
    };
    // Oldest first: the sign-in with the temporary password and the change made in its
    // session are marked; the sign-in with the password chosen then is not.
    assert_eq!(of("t@example.com", "LOGIN_SUCCEEDED"), [true, false]);
    assert_eq!(of("t@example.com", "PASSWORD_CHANGED"), [true]);
    assert_eq!(of("l@example.com", "PASSWORD_CHANGED"), [true]);
    // An ordinary sign-in is not marked.
    assert!(of(ADMIN_EMAIL, "LOGIN_SUCCEEDED").iter().all(|m| !m));
}
