//! The member lifecycle in the console, by clicking in Chromium: buttons as `viewerCan`
//! says, acts on selected members with a result each, Remove with its second
//! confirmation, Invite Several, the audit log's date range, changes and export.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::*;
use crate::common::*;

crate::on_both_databases!(the_lifecycle_by_clicking);

fn row(name: &str) -> String {
    format!("//table[@id='members']//tr[td[1][normalize-space()='{name}']]")
}

/// The acts shown in the row of `name`, as their `data-act`, once there are `n`.
async fn acts_of(browser: &Client, name: &str, n: usize) -> Vec<String> {
    let xpath = format!("{}//button[@data-act]", row(name));
    for _ in 0..100 {
        if let Ok(found) = browser.find_all(Locator::XPath(&xpath)).await
            && found.len() == n
        {
            let mut acts = Vec::new();
            for b in found {
                acts.push(b.attr("data-act").await.unwrap().unwrap_or_default());
            }
            return acts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name} never showed {n} acts");
}

async fn pick(browser: &Client, name: &str) {
    let xpath = format!("{}//input[@data-select]", row(name));
    let waiting = browser.wait().at_most(std::time::Duration::from_secs(10));
    let found = waiting.for_element(Locator::XPath(&xpath)).await;
    found
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Sets a date input (their typed form depends on the locale) and says it changed.
async fn set_date(browser: &Client, css: &str, value: &str) {
    let script = "const i = document.querySelector(arguments[0]); i.value = arguments[1]; \
                  i.dispatchEvent(new Event('change'));";
    browser
        .execute(script, vec![json!(css), json!(value)])
        .await
        .unwrap();
}

async fn status_of(app: &TestApp, admin: &str, id: i64) -> String {
    let q = "query($id: ID!) { member(id: $id) { status } }";
    let data = app
        .ok(Some(admin), q, json!({ "id": id.to_string() }))
        .await;
    data["member"]["status"].as_str().unwrap().to_owned()
}

async fn the_lifecycle_by_clicking(app: TestApp) {
    let Some(driver) = browser().await else {
        return;
    };
    let browser = &driver.client;
    let shot = |name: &str| format!("lifecycle-{:?}-{name}", app.backend);
    let admin = app.admin().await;
    let dev = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let freezer = app
        .create_role(&admin, "Freezer", &["MEMBERS_VIEW", "MEMBERS_FREEZE"])
        .await;
    let ids = app
        .add_members(
            &[
                ("ana@example.com", "Ana", dev.as_str()),
                ("bo@example.com", "Bo", dev.as_str()),
                ("cy@example.com", "Cy", dev.as_str()),
                ("fay@example.com", "Fay", freezer.as_str()),
            ],
            None,
        )
        .await;

    // A member who may only freeze sees Freeze where they may, nothing on the
    // administrator (whose role they do not cover) nor on themselves.
    sign_in(browser, &app, "fay@example.com", MEMBER_PASSWORD).await;
    assert_eq!(acts_of(browser, "Ana", 1).await, ["freeze"]);
    assert_eq!(
        acts_of(browser, "Administrator", 0).await,
        Vec::<String>::new()
    );
    assert_eq!(acts_of(browser, "Fay", 0).await, Vec::<String>::new());
    sign_out(browser).await;

    sign_in(browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let all = [
        "edit-permission",
        "freeze",
        "reset-password",
        "sessions",
        "remove",
    ];
    assert_eq!(acts_of(browser, "Ana", 5).await, all);

    // Freeze two at once: a line per member.
    pick(browser, "Ana").await;
    pick(browser, "Bo").await;
    text_is(browser, "#selected-count", "2 selected").await;
    click(browser, "#bulk-freeze").await;
    fill(browser, "#field-reason", "Quarterly review").await;
    click(browser, "dialog button[type=submit]").await;
    text_is(browser, "#bulk-summary", "2 done, 0 failed.").await;
    let lines = text_when(browser, "#bulk-results", |t| t.lines().count() == 2).await;
    assert!(
        lines.contains("Ana: done") && lines.contains("Bo: done"),
        "{lines}"
    );
    screenshot(browser, &shot("1-bulk-freeze")).await;
    click(browser, "dialog .actions button").await;
    assert_eq!(acts_of(browser, "Ana", 5).await[1], "recover");
    assert_eq!(status_of(&app, &admin, ids[1]).await, "FROZEN");

    // Remove: named erasure, then the email typed to confirm.
    let removing = format!("{}//button[@data-act='remove']", row("Cy"));
    click_xpath(browser, &removing).await;
    let intro = text_when(browser, "#remove-member", |t| {
        t.contains("cannot be undone")
    })
    .await;
    assert!(
        intro.contains("cy@example.com") && intro.contains("erased"),
        "{intro}"
    );
    click(browser, "dialog button[type=submit]").await;
    text_when(browser, "#field-confirmEmail-error", |t| {
        t.contains("to confirm")
    })
    .await;
    assert_eq!(
        status_of(&app, &admin, ids[2]).await,
        "ACTIVE",
        "nothing yet"
    );
    fill(browser, "#field-confirmEmail", "cy@example.com").await;
    screenshot(browser, &shot("2-remove")).await;
    click(browser, "dialog button[type=submit]").await;
    text_when(browser, "#members tbody", |t| !t.contains("cy@example.com")).await;
    assert_eq!(status_of(&app, &admin, ids[2]).await, "REMOVED");

    // Invite several: a row each, links for the good ones.
    click(browser, "#invite-many").await;
    fill(
        browser,
        "#field-emails",
        "new1@example.com\nnot-an-email\nana@example.com, new2@example.com",
    )
    .await;
    click(browser, "dialog button[type=submit]").await;
    let results = text_when(browser, "#invite-results", |t| t.lines().count() == 4).await;
    assert!(
        results.contains("not-an-email") && results.contains("ana@example.com"),
        "{results}"
    );
    let links = browser
        .find_all(Locator::Css("#invite-results input.link-value"))
        .await
        .unwrap();
    assert_eq!(links.len(), 2);
    screenshot(browser, &shot("3-invite-several")).await;
    click(browser, "dialog .actions button").await;

    // The audit log: what changed, by date, exported.
    click(browser, "nav a[href='/admin/audit']").await;
    text_is(browser, "h1", "Audit log").await;
    let log = text_when(browser, "#audit tbody", |t| {
        t.contains("status: ACTIVE → FROZEN")
    })
    .await;
    assert!(log.contains("Reason: Quarterly review"), "{log}");
    assert!(
        log.contains("email: changed"),
        "the removal names the erased fields: {log}"
    );
    let today = roster::clock::Clock::now(app.clock.as_ref()).date();
    set_date(
        browser,
        "#audit-from",
        &(today + chrono::Duration::days(1)).to_string(),
    )
    .await;
    text_when(browser, "#audit tbody", |t| t.contains("No events match.")).await;
    set_date(
        browser,
        "#audit-from",
        &(today - chrono::Duration::days(1)).to_string(),
    )
    .await;
    text_when(browser, "#audit tbody", |t| t.contains("Removed")).await;
    click(browser, "#audit-export").await;
    let said = text_when(browser, "#audit-exported", |t| t.starts_with("Exported")).await;
    let total = app
        .ok(Some(&admin), "{ auditEvents { totalCount } }", json!({}))
        .await;
    assert_eq!(
        said,
        format!("Exported {} events.", total["auditEvents"]["totalCount"])
    );
    screenshot(browser, &shot("4-audit")).await;
    driver.finish().await;
}
