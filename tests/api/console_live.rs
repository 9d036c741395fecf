//! The console's lists update live, in Chromium: another administrator's freeze shows
//! within a second without a reload, and a dropped connection resumes without losing
//! what happened meanwhile.

use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::json;

use crate::browser::*;
use crate::common::*;
use crate::live_client::until_subscribed;

crate::on_both_databases!(the_lists_update_live_and_resume_after_a_drop);

const FREEZE: &str = "mutation($m: ID!) { freeze(memberId: $m) { changed } }";

/// The status shown in the members table for `name`.
async fn status_shown(browser: &Client, name: &str) -> String {
    let script = "const row = [...document.querySelectorAll('#members tbody tr')]
        .find((r) => r.cells[0].textContent.trim() === arguments[0]);
        return row ? row.cells[3].textContent.trim() : '';";
    let shown = browser.execute(script, vec![json!(name)]).await.unwrap();
    shown.as_str().unwrap_or_default().to_owned()
}

/// Waits until `name` shows `status`; how long that took.
async fn until_shown(browser: &Client, name: &str, status: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if status_shown(browser, name).await == status {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{name} never showed {status}");
}

async fn the_lists_update_live_and_resume_after_a_drop(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let ids = app
        .add_members(
            &[
                ("ana@example.com", "Ana", role.as_str()),
                ("bo@example.com", "Bo", role.as_str()),
            ],
            None,
        )
        .await;
    // Another administrator works through another instance.
    let other = app.second_instance().await;
    let second_admin = app.admin_role_id().await;
    let (_, other_admin) = other.member_with("second@example.com", &second_admin).await;

    browser.goto(&format!("{}/admin", app.base)).await.unwrap();
    text_is(browser, "h1", "Sign in").await;
    // Every WebSocket the page opens is kept, so the test can drop one.
    let keep = "window.__marker = 'same page'; window.__sockets = [];
        const Native = window.WebSocket;
        window.WebSocket = function (...args) { const s = new Native(...args); window.__sockets.push(s); return s; };
        Object.assign(window.WebSocket, Native);";
    browser.execute(keep, vec![]).await.unwrap();
    fill(browser, "#field-email", ADMIN_EMAIL).await;
    fill(browser, "#field-password", ADMIN_PASSWORD).await;
    click(browser, "button[type=submit]").await;
    until_shown(browser, "Ana", "Active").await;
    until_subscribed(&app.state.feed, 1).await;

    // A freeze through the other instance shows within a second, without a reload.
    let started = Instant::now();
    let vars = json!({ "m": ids[0].to_string() });
    other.ok(Some(&other_admin), FREEZE, vars).await;
    until_shown(browser, "Ana", "Frozen").await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "shown after {took:?}");
    screenshot(browser, &format!("live-{:?}-frozen", app.backend)).await;

    // The connection drops; Bo is frozen meanwhile; the console reconnects, resumes
    // after the last change it had, and shows it.
    browser
        .execute("window.__sockets.at(-1).close();", vec![])
        .await
        .unwrap();
    for _ in 0..200 {
        if app.state.feed.subscribers() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.state.feed.subscribers(), 0, "the socket did not close");
    let vars = json!({ "m": ids[1].to_string() });
    other.ok(Some(&other_admin), FREEZE, vars).await;
    until_shown(browser, "Bo", "Frozen").await;
    let sockets = browser
        .execute("return window.__sockets.length;", vec![])
        .await
        .unwrap();
    assert_eq!(sockets, json!(2), "one new connection");
    let marker = browser
        .execute("return window.__marker;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("same page"), "the page was reloaded");

    // The invitations list too.
    click(browser, "a[href='/admin/invitations']").await;
    text_when(browser, "#invitations tbody", |t| {
        t.contains("No invitations")
    })
    .await;
    until_subscribed(&app.state.feed, 1).await;
    let started = Instant::now();
    let (_, _) = other
        .invite(&other_admin, &role, Some("new@example.com"))
        .await;
    text_when(browser, "#invitations tbody", |t| {
        t.contains("new@example.com")
    })
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "invitation shown after {took:?}"
    );
    driver.assert_quiet().await;
    driver.finish().await;
}
