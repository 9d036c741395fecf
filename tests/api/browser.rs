//! A real browser for the tests: headless Chromium driven through WebDriver
//! (chromedriver), one of each per test, with the helpers the page tests share.
//! Needs Debian's `chromium` and `chromium-driver`; without them the tests say so and
//! pass, unless `ROSTER_REQUIRE_CLIENTS=1` (CI), where they fail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver of this test's own, stopped when dropped.
pub struct Driver {
    process: Child,
    pub client: Client,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    /// What the browser logged since the last call that is an error: script errors,
    /// refused resources (CSP), failed loads. Statuses of `/graphql` answers are not
    /// errors here: the API answers expected refusals with 4xx.
    pub async fn console_errors(&self) -> Vec<String> {
        let session = self.client.session_id().await.unwrap().unwrap();
        let url = format!("http://127.0.0.1:{}/session/{session}/se/log", self.port);
        let log: Value = reqwest::Client::new()
            .post(url)
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no browser log: {log}"))
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter(|entry| {
                !(entry["source"] == "network"
                    && entry["message"].as_str().unwrap_or("").contains("/graphql"))
            })
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails on any console error since the last check.
    pub async fn assert_quiet(&self) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }

    /// Closes the browser after checking it logged no error.
    pub async fn finish(self) {
        self.assert_quiet().await;
        self.client.clone().close().await.ok();
    }
}

/// A browser, or `None` (said on stderr) where Chromium is not installed.
pub async fn browser() -> Option<Driver> {
    let chromium = std::env::var("ROSTER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !PathBuf::from(CHROMEDRIVER).exists() || !PathBuf::from(&chromium).exists() {
        let required = std::env::var("ROSTER_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "ROSTER_REQUIRE_CLIENTS=1 but chromium or chromedriver is missing"
        );
        eprintln!("skipped: no browser (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,800"],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let capabilities: serde_json::Map<String, Value> = capabilities.as_object().unwrap().clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        let built = ClientBuilder::new(connector.clone())
            .capabilities(capabilities.clone())
            .connect(&url)
            .await;
        if let Ok(client) = built {
            return Some(Driver {
                process,
                client,
                port,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut process = process;
    let _ = process.kill();
    let _ = process.wait();
    panic!("chromedriver did not start");
}

/// Saves a screenshot of the current screen as `target/screenshots/<name>.png`.
pub async fn screenshot(client: &Client, name: &str) {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The text of the first element matching `css` once `wanted` accepts it (the page
/// re-renders as answers arrive, so a found element may be replaced: look again).
pub async fn text_when(client: &Client, css: &str, wanted: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if wanted(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed what was awaited; last: {last:?}");
}

pub async fn text_is(client: &Client, css: &str, expected: &str) {
    text_when(client, css, |t| t == expected).await;
}

/// Clicks the first element matching `css`, once it is there (screens fill in as
/// their answers arrive).
pub async fn click(client: &Client, css: &str) {
    let waiting = client.wait().at_most(Duration::from_secs(10));
    let element = waiting.for_element(Locator::Css(css)).await;
    element
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks the first element matching `xpath`, once it is there.
pub async fn click_xpath(client: &Client, xpath: &str) {
    let waiting = client.wait().at_most(Duration::from_secs(10));
    let element = waiting.for_element(Locator::XPath(xpath)).await;
    element
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The `value` of the first input matching `css`.
pub async fn value_of(client: &Client, css: &str) -> String {
    let input = client.find(Locator::Css(css)).await.unwrap();
    input.prop("value").await.unwrap().unwrap_or_default()
}

/// Picks the option whose text is `text` in the select with id `select`.
pub async fn choose(client: &Client, select: &str, text: &str) {
    let xpath = format!("//select[@id='{select}']/option[.='{text}']");
    let option = client.find(Locator::XPath(&xpath)).await;
    option
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

pub async fn fill(client: &Client, css: &str, value: &str) {
    let input = client.find(Locator::Css(css)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Every resource the page loaded came from `base` (its live connection from the same
/// host, by `ws:`).
pub async fn only_own_origin(client: &Client, base: &str) {
    let socket = base.replacen("http", "ws", 1);
    let loaded: Value = client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .unwrap();
    let foreign: Vec<&Value> = loaded
        .as_array()
        .unwrap()
        .iter()
        .filter(|url| {
            let url = url.as_str().unwrap();
            !url.starts_with(base) && !url.starts_with(&socket)
        })
        .collect();
    assert!(foreign.is_empty(), "requests to other origins: {foreign:?}");
}

/// The path of a link Roster handed out, on this test server.
pub fn on_server(app: &TestApp, link: &str) -> String {
    let path = link
        .find("/invite/")
        .or_else(|| link.find("/reset-password/"))
        .unwrap();
    format!("{}{}", app.base, &link[path..])
}

/// Signs out and waits until the console has forgotten the session: a sign-in begun
/// before that would find the old session still kept.
pub async fn sign_out(browser: &Client) {
    click(browser, "#sign-out").await;
    text_is(browser, "h1", "Sign in").await;
}

pub async fn sign_in(browser: &Client, app: &TestApp, email: &str, password: &str) {
    browser.goto(&format!("{}/admin", app.base)).await.unwrap();
    text_is(browser, "h1", "Sign in").await;
    fill(browser, "#field-email", email).await;
    fill(browser, "#field-password", password).await;
    click(browser, "button[type=submit]").await;
}

pub async fn rows(browser: &Client) -> usize {
    let found = browser
        .find_all(Locator::Css("#members tbody tr[data-member-id]"))
        .await;
    found.map_or(0, |rows| rows.len())
}
