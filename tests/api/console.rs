//! The console at `/admin`, clicked through in real headless Chromium: the seed's flow
//! from a first start (the first administrator changes the generated password, creates
//! roles, invites, the invitee signs up, Edit Permission, Freeze, Recover, a default
//! password, Reset Password), then the other screens, a stale version, keyboard use
//! and a narrow window. Every page is checked for console errors and requests to other
//! origins; a screenshot of each screen goes to `target/screenshots/`.

use std::sync::Arc;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::*;
use crate::common::*;

crate::on_both_databases_raw!(the_seed_flow_by_clicking);
crate::on_both_databases!(
    the_readme_screens,
    sessions_are_listed_and_revoked_from_the_console,
    a_stale_member_offers_a_reload_and_dialogs_keep_what_was_typed,
    the_other_screens_work_by_keyboard_and_in_a_narrow_window,
);

const ADMIN_NEW_PASSWORD: &str = "first-admin-password-1";
const NIA_PASSWORD: &str = "newcomer-password-1";
const DEFAULT_PASSWORD: &str = "team-default-password-1";

/// The row of the member named `name` in the members table.
fn row(name: &str) -> String {
    format!("//table[@id='members']//tr[td[1][normalize-space()='{name}']]")
}

/// Clicks the button of act `act` in the row of the member named `name`.
async fn act_on(browser: &Client, name: &str, act: &str) {
    let xpath = format!("{}//button[@data-act='{act}']", row(name));
    let waiting = browser.wait().at_most(std::time::Duration::from_secs(10));
    waiting
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The text of the cell `column` (1-based) of the member named `name`, once `wanted`.
async fn cell_when(browser: &Client, name: &str, column: usize, wanted: &str) {
    let xpath = format!("{}/td[{column}]", row(name));
    for _ in 0..100 {
        if let Ok(cell) = browser.find(Locator::XPath(&xpath)).await
            && cell.text().await.is_ok_and(|t| t == wanted)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name}'s column {column} never read {wanted:?}");
}

/// Goes to screen `path` through the navigation bar.
async fn open_screen(browser: &Client, path: &str, title: &str) {
    click(browser, &format!("nav a[href='/admin/{path}']")).await;
    text_is(browser, "h1", title).await;
}

async fn the_seed_flow_by_clicking(db: TestDb) {
    let backend = db.backend();
    let (app, generated) = TestApp::first_start(Arc::new(db)).await;
    let (Some(admin_side), Some(member_side)) = (browser().await, browser().await) else {
        return;
    };
    let shot = |name: &str| format!("seed-{backend:?}-{name}");
    let (browser, member) = (&admin_side.client, &member_side.client);
    // The capture of console errors works (so an empty one means something).
    browser.goto(&format!("{}/admin", app.base)).await.unwrap();
    browser
        .execute("console.error('probe of the console capture')", vec![])
        .await
        .unwrap();
    let probe = admin_side.console_errors().await;
    assert!(probe.iter().any(|e| e.contains("probe")), "{probe:?}");

    // The first administrator signs in with the generated password and changes it.
    sign_in(browser, &app, "first@example.com", &generated).await;
    text_is(browser, "h1", "Change password").await;
    screenshot(browser, &shot("01-change-password")).await;
    fill(browser, "#field-currentPassword", &generated).await;
    fill(browser, "#field-newPassword", ADMIN_NEW_PASSWORD).await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "h1", "Member Management").await;
    only_own_origin(browser, &app.base).await;

    // Creates two roles.
    open_screen(browser, "roles", "Roles").await;
    for (name, boxes) in [
        ("Developer", &["MEMBERS_VIEW"][..]),
        ("Reviewer", &["MEMBERS_VIEW"]),
    ] {
        click(browser, "#create-role").await;
        text_is(browser, "#dialog-title", "Create Role").await;
        fill(browser, "#field-name", name).await;
        for permission in boxes {
            click(
                browser,
                &format!("input[name=permissions][value={permission}]"),
            )
            .await;
        }
        if name == "Developer" {
            screenshot(browser, &shot("02-create-role")).await;
        }
        click(browser, "dialog button[type=submit]").await;
        text_when(browser, "#roles tbody", |t| t.contains(name)).await;
    }
    screenshot(browser, &shot("03-roles")).await;

    // + Add Member: a validity, a role, Confirm, Copy Link.
    open_screen(browser, "members", "Member Management").await;
    click(browser, "#add-member").await;
    text_is(browser, "#dialog-title", "Add Member").await;
    click(browser, "input[name=validity][value=ONE_DAY]").await;
    choose(browser, "field-roleId", "Developer").await;
    screenshot(browser, &shot("04-add-member")).await;
    click(browser, "dialog button[type=submit]").await;
    text_is(browser, "#dialog-title", "Invitation link").await;
    click(browser, "#copy-secret").await;
    text_when(browser, "#copy-status", |t| !t.is_empty()).await;
    let link = value_of(browser, "#secret").await;
    screenshot(browser, &shot("05-invitation-link")).await;
    click(browser, "dialog button.secondary").await;

    // Another browser opens the link, sees the role, signs up and is signed in.
    member.goto(&on_server(&app, &link)).await.unwrap();
    text_is(member, "#offered-role", "Developer").await;
    fill(member, "#field-email", "nia@example.com").await;
    fill(member, "#field-name", "Nia Newcomer").await;
    fill(member, "#field-password", NIA_PASSWORD).await;
    click(member, "button[type=submit]").await;
    text_is(member, "h1", "Welcome, Nia Newcomer").await;
    member.goto(&format!("{}/admin", app.base)).await.unwrap();
    text_is(member, "h1", "Member Management").await;
    // Without acting permissions, no operation buttons (not even on others' rows).
    text_when(member, "#members tbody", |t| t.contains("Administrator")).await;
    let buttons = member
        .find_all(Locator::Css("#members td.operation button"))
        .await
        .unwrap();
    assert!(
        buttons.is_empty(),
        "a member who may not act sees no operation"
    );
    assert!(member.find(Locator::Css("#add-member")).await.is_err());
    screenshot(member, &shot("06-member-view")).await;

    // The administrator sees the new member; Edit Permission to another role.
    browser.refresh().await.unwrap();
    cell_when(browser, "Nia Newcomer", 3, "Developer").await;
    act_on(browser, "Nia Newcomer", "edit-permission").await;
    text_is(browser, "#dialog-title", "Edit Permission").await;
    choose(browser, "field-roleId", "Reviewer").await;
    screenshot(browser, &shot("07-edit-permission")).await;
    click(browser, "dialog button[type=submit]").await;
    cell_when(browser, "Nia Newcomer", 3, "Reviewer").await;

    // Freeze, with a reason: the member's console goes to sign in by itself (its live
    // list learns the session ended), which says the account is frozen.
    act_on(browser, "Nia Newcomer", "freeze").await;
    text_is(browser, "#dialog-title", "Freeze").await;
    fill(browser, "#field-reason", "Left for a month").await;
    screenshot(browser, &shot("08-freeze")).await;
    click(browser, "dialog button[type=submit]").await;
    cell_when(browser, "Nia Newcomer", 4, "Frozen").await;
    text_is(member, "h1", "Sign in").await;
    text_when(member, ".lead", |t| t.contains("session ended")).await;
    fill(member, "#field-email", "nia@example.com").await;
    fill(member, "#field-password", NIA_PASSWORD).await;
    click(member, "button[type=submit]").await;
    let refused = text_when(member, "form .form-error", |t| !t.is_empty()).await;
    assert!(refused.to_lowercase().contains("frozen"), "{refused}");
    screenshot(member, &shot("09-frozen-sign-in")).await;

    // Recover.
    act_on(browser, "Nia Newcomer", "recover").await;
    text_is(browser, "#dialog-title", "Recover").await;
    click(browser, "dialog button[type=submit]").await;
    cell_when(browser, "Nia Newcomer", 4, "Active").await;

    // A default password in Security Settings.
    open_screen(browser, "settings", "Security Settings").await;
    text_when(browser, "#settings-state", |t| {
        t.contains("No default password")
    })
    .await;
    fill(browser, "#field-defaultPassword", DEFAULT_PASSWORD).await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "#settings-saved", "Saved.").await;
    text_when(browser, "#settings-state", |t| {
        t.starts_with("A default password is set")
    })
    .await;
    screenshot(browser, &shot("10-security-settings")).await;

    // Reset Password (the default mode first), confirmed.
    open_screen(browser, "members", "Member Management").await;
    act_on(browser, "Nia Newcomer", "reset-password").await;
    text_is(browser, "#dialog-title", "Reset Password").await;
    let mode: Value = browser
        .execute(
            "return document.querySelector('input[name=mode]:checked').value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(mode, "DEFAULT_PASSWORD");
    screenshot(browser, &shot("11-reset-password")).await;
    click(browser, "dialog button[type=submit]").await;
    text_is(browser, "#dialog-title", "Password reset").await;
    click(browser, "dialog button").await;

    // The member signs in with the default password and is made to change it.
    member.goto(&format!("{}/admin", app.base)).await.unwrap();
    text_is(member, "h1", "Sign in").await;
    fill(member, "#field-email", "nia@example.com").await;
    fill(member, "#field-password", DEFAULT_PASSWORD).await;
    click(member, "button[type=submit]").await;
    text_is(member, "h1", "Change password").await;
    fill(member, "#field-currentPassword", DEFAULT_PASSWORD).await;
    fill(member, "#field-newPassword", "nia-own-password-1").await;
    click(member, "button[type=submit]").await;
    text_is(member, "h1", "Member Management").await;
    app.login("nia@example.com", "nia-own-password-1").await;

    // The audit log tells the story, filterable.
    open_screen(browser, "audit", "Audit log").await;
    text_when(browser, "#audit tbody", |t| t.contains("Member frozen")).await;
    click(browser, "#audit-action option[value=MEMBER_FROZEN]").await;
    text_is(browser, "#audit-total", "1 event").await;
    text_when(browser, "#audit tbody", |t| t.contains("Left for a month")).await;
    screenshot(browser, &shot("12-audit-log")).await;
    // By target: select the name; every event left is on Nia, and the chip undoes it.
    click(browser, "#audit-action option[value='']").await;
    let everything = text_when(browser, "#audit-total", |t| t != "1 event").await;
    click(browser, "#audit tbody button[data-filter=targetMemberId]").await;
    text_when(browser, "#audit-chips", |t| t.contains("Target: ")).await;
    text_when(browser, "#audit-total", |t| t != everything).await;
    let targets: Value = browser
        .execute(
            "return [...document.querySelectorAll('#audit tbody tr')].map(r => r.children[3].textContent)",
            vec![],
        )
        .await
        .unwrap();
    let targets = targets.as_array().unwrap();
    assert!(targets.len() >= 4, "{targets:?}");
    assert!(targets.iter().all(|t| t == "Nia Newcomer"), "{targets:?}");
    only_own_origin(browser, &app.base).await;
    only_own_origin(member, &app.base).await;
    admin_side.finish().await;
    member_side.finish().await;
}

async fn a_stale_member_offers_a_reload_and_dialogs_keep_what_was_typed(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let other = app.create_role(&admin, "Reviewer", &["MEMBERS_VIEW"]).await;
    let (id, _) = app.member_with("sam@example.com", &role).await;
    let name = "Test Member";
    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    cell_when(browser, name, 3, "Developer").await;
    act_on(browser, name, "freeze").await;
    fill(browser, "#field-reason", "Asked to").await;
    // A freeze end in the past is refused at its field, and the dialog stays.
    browser
        .execute(
            "document.getElementById('field-until').value = '2020-01-01T10:00'",
            vec![],
        )
        .await
        .unwrap();
    click(browser, "dialog button[type=submit]").await;
    let error = text_when(browser, "#field-until-error", |t| !t.is_empty()).await;
    assert!(error.contains("later than now"), "{error}");
    browser
        .execute("document.getElementById('field-until').value = ''", vec![])
        .await
        .unwrap();
    // Someone else changes the member meanwhile.
    app.ok(
        Some(&admin),
        "mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { errors { code } } }",
        json!({ "m": id.to_string(), "r": other }),
    )
    .await;
    click(browser, "dialog button[type=submit]").await;
    let said = text_when(browser, "dialog .form-error", |t| !t.is_empty()).await;
    assert!(said.contains("Someone else changed this member"), "{said}");
    assert_eq!(value_of(browser, "#field-reason").await, "Asked to");
    screenshot(browser, &format!("console-{:?}-6-stale", app.backend)).await;
    click(browser, "#reload").await;
    cell_when(browser, name, 3, "Reviewer").await;
    cell_when(browser, name, 4, "Active").await;
    // A field error stands at its field, and the dialog keeps what was typed.
    open_screen(browser, "roles", "Roles").await;
    click(browser, "#create-role").await;
    fill(browser, "#field-name", "developer").await;
    fill(browser, "#field-description", "Same name, other case").await;
    click(browser, "dialog button[type=submit]").await;
    let error = text_when(browser, "#field-name-error", |t| !t.is_empty()).await;
    assert!(
        error.to_lowercase().contains("taken") || error.to_lowercase().contains("exists"),
        "{error}"
    );
    assert_eq!(
        value_of(browser, "#field-description").await,
        "Same name, other case"
    );
    screenshot(browser, &format!("console-{:?}-7-field-error", app.backend)).await;
    driver.finish().await;
}

async fn the_other_screens_work_by_keyboard_and_in_a_narrow_window(app: TestApp) {
    let (Some(driver), Some(invitee_side)) = (browser().await, browser().await) else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let (_, first) = app.invite(&admin, &role, Some("pending@example.com")).await;
    let (_, second) = app.invite(&admin, &role, None).await;
    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    text_is(browser, "h1", "Member Management").await;

    // Keyboard: Tab reaches + Add Member, Enter opens it, Escape closes it.
    let mut reached = Vec::new();
    for _ in 0..12 {
        let focused = browser.active_element().await.unwrap();
        focused.send_keys("\u{E004}").await.unwrap();
        let id: Value = browser
            .execute("return document.activeElement.id", vec![])
            .await
            .unwrap();
        reached.push(id.as_str().unwrap_or_default().to_owned());
        if id == "add-member" {
            break;
        }
    }
    assert_eq!(
        reached.last().map(String::as_str),
        Some("add-member"),
        "{reached:?}"
    );
    browser
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    text_is(browser, "#dialog-title", "Add Member").await;
    browser
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    // The dialog closes on the event that follows the key: wait for it.
    let mut open = Value::Null;
    for _ in 0..50 {
        open = browser
            .execute("return document.querySelectorAll('dialog').length", vec![])
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0, "Escape closes the dialog");

    // Invitations: revoke one, reissue the other; the revoked link says so.
    open_screen(browser, "invitations", "Invitations").await;
    text_is(browser, "#invitation-total", "2 invitations").await;
    let pending_row = "//table[@id='invitations']//tr[td[1][.='pending@example.com']]";
    click_xpath(
        browser,
        &format!("{pending_row}//button[@data-act='revoke']"),
    )
    .await;
    text_is(browser, "#dialog-title", "Revoke").await;
    click(browser, "dialog button[type=submit]").await;
    text_when(browser, "#invitations tbody", |t| t.contains("Revoked")).await;
    let link_row = "//table[@id='invitations']//tr[td[1][.='Anyone with the link']]";
    click_xpath(browser, &format!("{link_row}//button[@data-act='reissue']")).await;
    click(browser, "dialog button[type=submit]").await;
    text_is(browser, "#dialog-title", "Invitation link").await;
    let reissued = value_of(browser, "#secret").await;
    assert!(!reissued.ends_with(&second), "a new link");
    screenshot(browser, &format!("console-{:?}-8-invitations", app.backend)).await;
    click(browser, "dialog button.secondary").await;
    let invitee = &invitee_side.client;
    for secret in [first, second] {
        invitee
            .goto(&format!("{}/invite/{secret}", app.base))
            .await
            .unwrap();
        text_is(invitee, "h1", "This invitation link cannot be used").await;
    }
    invitee.goto(&on_server(&app, &reissued)).await.unwrap();
    text_is(invitee, "#offered-role", "Developer").await;

    // Roles: rename, narrow, delete moving its members.
    let (_, _) = app.member_with("dev@example.com", &role).await;
    open_screen(browser, "roles", "Roles").await;
    let edit = format!("//tr[@data-role-id='{role}']//button[@data-act='edit']");
    click_xpath(browser, &edit).await;
    fill(browser, "#field-name", "Engineer").await;
    click(browser, "dialog button[type=submit]").await;
    text_when(browser, "#roles tbody", |t| t.contains("Engineer")).await;
    let admin_role = app.admin_role_id().await;
    let boxes = format!("//tr[@data-role-id='{admin_role}']//button[@data-act='edit']");
    click_xpath(browser, &boxes).await;
    let enabled: Value = browser
        .execute(
            "return document.querySelectorAll('input[name=permissions]:not(:disabled)').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(enabled, 0, "the Administrator cannot be narrowed");
    click(browser, "dialog button.secondary").await;
    let delete = format!("//tr[@data-role-id='{role}']//button[@data-act='delete']");
    click_xpath(browser, &delete).await;
    click(browser, "dialog button[type=submit]").await;
    text_when(browser, "#field-reassignTo-error", |t| !t.is_empty()).await;
    let target = format!("#field-reassignTo option[value='{admin_role}']");
    click(browser, &target).await;
    click(browser, "dialog button[type=submit]").await;
    text_when(browser, "#roles tbody", |t| !t.contains("Engineer")).await;
    screenshot(browser, &format!("console-{:?}-9-roles", app.backend)).await;

    // Security Settings: a bad number is refused at its field, a good one is saved.
    open_screen(browser, "settings", "Security Settings").await;
    fill(browser, "#field-passwordMinLength", "3").await;
    click(browser, "button[type=submit]").await;
    text_when(browser, "#field-passwordMinLength-error", |t| !t.is_empty()).await;
    fill(browser, "#field-passwordMinLength", "12").await;
    fill(browser, "#field-sessionTtlMinutes", "90").await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "#settings-saved", "Saved.").await;
    let saved = app
        .ok(
            Some(&admin),
            "{ securitySettings { passwordMinLength sessionTtlMinutes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        saved["securitySettings"],
        json!({ "passwordMinLength": 12, "sessionTtlMinutes": 90 })
    );

    // Reset Password to a temporary password, shown once, which signs in.
    open_screen(browser, "members", "Member Management").await;
    act_on(browser, "Test Member", "reset-password").await;
    click(browser, "input[name=mode][value=TEMPORARY_PASSWORD]").await;
    click(browser, "dialog button[type=submit]").await;
    text_is(browser, "#dialog-title", "Temporary password").await;
    let temporary = value_of(browser, "#secret").await;
    app.login("dev@example.com", &temporary).await;
    click(browser, "dialog button.secondary").await;

    // A narrow window: nothing wider than the screen but the table, which scrolls.
    browser.set_window_size(390, 800).await.unwrap();
    open_screen(browser, "members", "Member Management").await;
    text_when(browser, "#members tbody", |t| t.contains("dev@example.com")).await;
    let overflow: Value = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, 0, "the page is no wider than a narrow window");
    screenshot(browser, &format!("console-{:?}-10-narrow", app.backend)).await;
    driver.finish().await;
    invitee_side.finish().await;
}

/// The screens README shows, from a small team: `target/screenshots/readme-*.png`
/// (copied to `docs/` by hand when the console's look changes).
async fn the_readme_screens(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let developer = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let support = app
        .create_role(
            &admin,
            "Support",
            &["MEMBERS_VIEW", "MEMBERS_RESET_PASSWORD"],
        )
        .await;
    let lead = app
        .create_role(
            &admin,
            "Team Lead",
            &["MEMBERS_VIEW", "MEMBERS_INVITE", "MEMBERS_FREEZE"],
        )
        .await;
    let admin_id: Value = app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    let admin_id: i64 = admin_id["me"]["id"].as_str().unwrap().parse().unwrap();
    let team = [
        ("maya.lin@example.com", "Maya Lin", lead.as_str()),
        ("omar.haddad@example.com", "Omar Haddad", developer.as_str()),
        (
            "lena.fischer@example.com",
            "Lena Fischer",
            developer.as_str(),
        ),
        ("kenji.sato@example.com", "Kenji Sato", support.as_str()),
        ("ana.souza@example.com", "Ana Souza", developer.as_str()),
    ];
    let ids = app.add_members(&team, Some(admin_id)).await;
    for (email, _, _) in &team[..4] {
        app.login(email, MEMBER_PASSWORD).await;
    }
    app.ok(
        Some(&admin),
        "mutation($m: ID!) { freeze(memberId: $m, reason: \"On leave\") { errors { code } } }",
        json!({ "m": ids[4].to_string() }),
    )
    .await;
    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    text_is(browser, "#member-total", "6 members").await;
    cell_when(browser, "Ana Souza", 4, "Frozen").await;
    screenshot(browser, "readme-members").await;
    let scrolls: Value = browser
        .execute(
            "const t = document.querySelector('.table-wrap'); return t.scrollWidth - t.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        scrolls, 0,
        "at 1280x800 the members table fits without scrolling"
    );
    click(browser, "#add-member").await;
    text_is(browser, "#dialog-title", "Add Member").await;
    let option = format!("#field-roleId option[value='{developer}']");
    click(browser, &option).await;
    screenshot(browser, "readme-add-member").await;
    driver.finish().await;
}

/// The console names every permission and audit action in words: one added to the
/// API without words here would show as its raw name.
#[test]
fn the_console_has_words_for_every_permission_and_action() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/console");
    let roles = std::fs::read_to_string(format!("{dir}/roles.js")).unwrap();
    for permission in roster::domain::Permission::ALL {
        assert!(
            roles.contains(&format!("['{}', ", permission.name())),
            "{}",
            permission.name()
        );
    }
    let audit = std::fs::read_to_string(format!("{dir}/audit.js")).unwrap();
    for action in roster::domain::audit::AuditAction::ALL {
        assert!(
            audit.contains(&format!("{}: '", action.name())),
            "{}",
            action.name()
        );
    }
}

async fn sessions_are_listed_and_revoked_from_the_console(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let (_, first) = app.member_with("dev@example.com", &role).await;
    let second = app.login("dev@example.com", MEMBER_PASSWORD).await;
    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Another member's: both listed; revoke one, then all.
    act_on(browser, "Test Member", "sessions").await;
    text_is(browser, "#dialog-title", "Sessions of Test Member").await;
    text_when(browser, "#sessions tbody", |t| {
        t.matches("Revoke").count() == 2
    })
    .await;
    screenshot(browser, &format!("console-{:?}-11-sessions", app.backend)).await;
    click(browser, "#sessions button[data-act=revoke-session]").await;
    text_is(browser, "#sessions-status", "1 session ended.").await;
    text_when(browser, "#sessions tbody", |t| {
        t.matches("Revoke").count() == 1
    })
    .await;
    click(browser, "#revoke-all").await;
    text_when(browser, "#sessions tbody", |t| {
        t.contains("No live sessions")
    })
    .await;
    for token in [&first, &second] {
        let ended = app.gql(Some(token), "{ me { id } }", json!({})).await;
        assert_eq!(error_code(&ended), "UNAUTHENTICATED");
    }
    click(browser, "dialog button.secondary").await;
    // One's own: this browser is marked; the others end, this one goes on.
    click(browser, "#my-sessions").await;
    text_is(browser, "#dialog-title", "Your sessions").await;
    text_when(browser, "#sessions tbody", |t| t.contains("this browser")).await;
    click(browser, "#revoke-all").await;
    text_is(browser, "#sessions-status", "1 session ended.").await;
    let ended = app.gql(Some(&admin), "{ me { id } }", json!({})).await;
    assert_eq!(
        error_code(&ended),
        "UNAUTHENTICATED",
        "the API session ended"
    );
    click(browser, "dialog button.secondary").await;
    text_when(browser, "#members tbody", |t| t.contains("Test Member")).await;
    driver.finish().await;
}
