//! The pages behind Roster's links, in real headless Chromium driven through WebDriver
//! (chromedriver): an invitee signs up through `/invite/<token>`, a member sets a new
//! password through `/reset-password/<token>`, used links say so, field errors stand
//! at their fields, no request leaves for another origin. Screenshots of each screen
//! go to `target/screenshots/` for a reviewer.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the tests say so and
//! pass, unless `ROSTER_REQUIRE_CLIENTS=1` (CI), where they fail.

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::*;
use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    an_invitee_signs_up_through_the_link_once,
    a_reset_link_sets_a_new_password_once,
    the_console_signs_in_and_lists_members_by_filter_and_page,
    a_reset_member_is_made_to_change_the_password_in_the_console,
    an_administrator_invites_through_the_add_member_dialog,
);

async fn an_invitee_signs_up_through_the_link_once(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let (_, secret) = app.invite(&admin, &role, Some("dev@example.com")).await;
    let link = format!("{}/invite/{secret}", app.base);
    browser.goto(&link).await.unwrap();
    text_is(browser, "#offered-role", "Developer").await;
    screenshot(browser, &format!("invite-{:?}-1-offer", app.backend)).await;
    only_own_origin(browser, &app.base).await;
    // The bound email is shown, not editable; a short password is refused at its field.
    assert_eq!(value_of(browser, "#field-email").await, "dev@example.com");
    fill(browser, "#field-name", "Dana Developer").await;
    fill(browser, "#field-password", "short").await;
    click(browser, "button[type=submit]").await;
    let error = text_when(browser, "#field-password-error", |t| !t.is_empty()).await;
    assert!(error.contains("10"), "{error}");
    screenshot(browser, &format!("invite-{:?}-2-field-error", app.backend)).await;
    fill(browser, "#field-password", "developer-password-1").await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "h1", "Welcome, Dana Developer").await;
    screenshot(browser, &format!("invite-{:?}-3-welcome", app.backend)).await;
    // Signed in: the page kept the session, and the account signs in with its password.
    let token: Value = browser
        .execute("return sessionStorage.getItem('roster.session')", vec![])
        .await
        .unwrap();
    let me = app
        .ok(token.as_str(), "{ me { email role { name } } }", json!({}))
        .await;
    assert_eq!(
        me["me"],
        json!({ "email": "dev@example.com", "role": { "name": "Developer" } })
    );
    app.login("dev@example.com", "developer-password-1").await;
    // The link worked once.
    browser.goto(&link).await.unwrap();
    text_is(browser, "h1", "This invitation link cannot be used").await;
    screenshot(browser, &format!("invite-{:?}-4-used", app.backend)).await;
    driver.finish().await;
}

async fn a_reset_link_sets_a_new_password_once(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &[]).await;
    let (member, _) = app.member_with("sam@example.com", &role).await;
    let reset = app
        .ok(
            Some(&admin),
            "mutation($id: ID!) { resetPassword(memberId: $id, mode: RESET_LINK) { resetLink errors { code } } }",
            json!({ "id": member.to_string() }),
        )
        .await;
    let link = on_server(&app, reset["resetPassword"]["resetLink"].as_str().unwrap());
    browser.goto(&link).await.unwrap();
    text_is(browser, "h1", "Choose a new password").await;
    fill(browser, "#field-newPassword", "sam-new-password-1").await;
    click(browser, "button[type=submit]").await;
    text_when(browser, "h1", |t| t.starts_with("Welcome")).await;
    screenshot(browser, &format!("reset-{:?}-1-done", app.backend)).await;
    only_own_origin(browser, &app.base).await;
    app.login("sam@example.com", "sam-new-password-1").await;
    // The link worked once.
    browser.goto(&link).await.unwrap();
    fill(browser, "#field-newPassword", "sam-other-password-1").await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "h1", "This reset link cannot be used").await;
    screenshot(browser, &format!("reset-{:?}-2-used", app.backend)).await;
    driver.finish().await;
}

async fn the_console_signs_in_and_lists_members_by_filter_and_page(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Reviewer", &["MEMBERS_VIEW"]).await;
    let people: Vec<(String, String, String)> = (0..22)
        .map(|i| {
            (
                format!("dev{i:02}@example.com"),
                format!("Developer {i:02}"),
                role.clone(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = people
        .iter()
        .map(|(e, n, r)| (e.as_str(), n.as_str(), r.as_str()))
        .collect();
    app.add_members(&refs, None).await;
    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    text_is(browser, "h1", "Member Management").await;
    text_is(browser, "#member-total", "23 members").await;
    assert_eq!(rows(browser).await, 20, "a page of 20");
    screenshot(browser, &format!("console-{:?}-1-members", app.backend)).await;
    only_own_origin(browser, &app.base).await;
    // Next and back by cursor.
    click(browser, "#member-next").await;
    text_when(browser, "#members tbody", |t| !t.contains("Developer 21")).await;
    assert_eq!(rows(browser).await, 3);
    click(browser, "#member-previous").await;
    text_when(browser, "#members tbody", |t| t.contains("Developer 21")).await;
    // Search, then the role filter.
    fill(browser, "#member-search", "dev07").await;
    text_is(browser, "#member-total", "1 member").await;
    fill(browser, "#member-search", "").await;
    text_is(browser, "#member-total", "23 members").await;
    let option = format!("#member-role option[value='{role}']");
    click(browser, &option).await;
    text_is(browser, "#member-total", "22 members").await;
    screenshot(browser, &format!("console-{:?}-2-filtered", app.backend)).await;
    // Sign out: the console forgets the session.
    click(browser, "#sign-out").await;
    text_is(browser, "h1", "Sign in").await;
    let kept: Value = browser
        .execute("return sessionStorage.getItem('roster.session')", vec![])
        .await
        .unwrap();
    assert_eq!(kept, Value::Null);
    driver.finish().await;
}

async fn a_reset_member_is_made_to_change_the_password_in_the_console(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, _) = app.member_with("vic@example.com", &role).await;
    let reset = app
        .ok(
            Some(&admin),
            "mutation($id: ID!) { resetPassword(memberId: $id, mode: TEMPORARY_PASSWORD) { temporaryPassword errors { code } } }",
            json!({ "id": member.to_string() }),
        )
        .await;
    let temporary = reset["resetPassword"]["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_in(browser, &app, "vic@example.com", "wrong-password-1").await;
    let problem = text_when(browser, "form .form-error", |t| !t.is_empty()).await;
    assert!(
        problem.to_lowercase().contains("email or password"),
        "{problem}"
    );
    fill(browser, "#field-password", &temporary).await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "h1", "Change password").await;
    screenshot(
        browser,
        &format!("console-{:?}-3-change-password", app.backend),
    )
    .await;
    fill(browser, "#field-currentPassword", &temporary).await;
    fill(browser, "#field-newPassword", "vic-own-password-1").await;
    click(browser, "button[type=submit]").await;
    text_is(browser, "h1", "Member Management").await;
    app.login("vic@example.com", "vic-own-password-1").await;
    driver.finish().await;
}

async fn an_administrator_invites_through_the_add_member_dialog(app: TestApp) {
    let (Some(admin_side), Some(invitee_side)) = (browser().await, browser().await) else {
        return;
    };
    let (browser, invitee) = (&admin_side.client, &invitee_side.client);
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    text_is(browser, "h1", "Member Management").await;
    click(browser, "#add-member").await;
    text_is(browser, "#dialog-title", "Add Member").await;
    click(browser, "input[value=THIRTY_DAYS]").await;
    let option = format!("#field-roleId option[value='{role}']");
    click(browser, &option).await;
    screenshot(browser, &format!("console-{:?}-4-add-member", app.backend)).await;
    click(browser, "dialog button[type=submit]").await;
    text_is(browser, "#dialog-title", "Invitation link").await;
    let link = value_of(browser, "#secret").await;
    click(browser, "#copy-secret").await;
    text_when(browser, "#copy-status", |t| !t.is_empty()).await;
    screenshot(browser, &format!("console-{:?}-5-link", app.backend)).await;
    // Another browser opens the link and signs up.
    let secret = link.rsplit('/').next().unwrap();
    invitee
        .goto(&format!("{}/invite/{secret}", app.base))
        .await
        .unwrap();
    text_is(invitee, "#offered-role", "Developer").await;
    fill(invitee, "#field-email", "newcomer@example.com").await;
    fill(invitee, "#field-name", "Nia Newcomer").await;
    fill(invitee, "#field-password", "newcomer-password-1").await;
    click(invitee, "button[type=submit]").await;
    text_is(invitee, "h1", "Welcome, Nia Newcomer").await;
    // The administrator sees the new member in the list.
    browser
        .goto(&format!("{}/admin/members", app.base))
        .await
        .unwrap();
    text_when(browser, "#members tbody", |t| t.contains("Nia Newcomer")).await;
    // A member who may not invite sees no + Add Member.
    sign_out(browser).await;
    sign_in(browser, &app, "newcomer@example.com", "newcomer-password-1").await;
    text_is(browser, "h1", "Member Management").await;
    let add = browser.find(Locator::Css("#add-member")).await;
    assert!(add.is_err(), "no + Add Member without MEMBERS_INVITE");
    admin_side.finish().await;
    invitee_side.finish().await;
}
