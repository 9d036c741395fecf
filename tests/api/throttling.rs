//! Brute-force throttling: per account and per address, in the database, race-free.

use chrono::Duration;
use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    guessing_one_account_is_rate_limited_for_a_while,
    concurrent_guesses_cannot_slip_past_the_limit,
    one_address_guessing_many_accounts_is_rate_limited,
    a_success_clears_the_account_count,
    counts_are_shared_by_instances,
    token_guessing_is_rate_limited,
    sign_ins_past_hashing_capacity_are_told_busy,
);

async fn guessing_one_account_is_rate_limited_for_a_while(app: TestApp) {
    for i in 0..10 {
        assert_eq!(
            app.login_outcome(ADMIN_EMAIL, &format!("guess-{i}")).await,
            "INVALID_CREDENTIALS"
        );
    }
    let limited = app.login_attempt(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        login_outcome_of(&limited),
        "RATE_LIMITED",
        "even the right password waits: {limited}"
    );
    let retry = limited["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    app.clock.advance(Duration::seconds(retry as i64));
    assert_eq!(
        app.login_outcome(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        "OK",
        "not locked out for good"
    );
}

async fn concurrent_guesses_cannot_slip_past_the_limit(app: TestApp) {
    let guesses = (0..25).map(|i| {
        let app = &app;
        async move { app.login_outcome(ADMIN_EMAIL, &format!("guess-{i}")).await }
    });
    let outcomes = futures_util::future::join_all(guesses).await;
    let checked = outcomes
        .iter()
        .filter(|o| *o == "INVALID_CREDENTIALS")
        .count();
    let limited = outcomes.iter().filter(|o| *o == "RATE_LIMITED").count();
    assert_eq!((checked, limited), (10, 15), "{outcomes:?}");
}

async fn one_address_guessing_many_accounts_is_rate_limited(app: TestApp) {
    for i in 0..50 {
        assert_eq!(
            app.login_outcome(&format!("user{i}@example.com"), "guess")
                .await,
            "INVALID_CREDENTIALS"
        );
    }
    assert_eq!(
        app.login_outcome("user99@example.com", "guess").await,
        "RATE_LIMITED"
    );
}

async fn a_success_clears_the_account_count(app: TestApp) {
    for round in 0..2 {
        for i in 0..9 {
            assert_eq!(
                app.login_outcome(ADMIN_EMAIL, &format!("guess-{round}-{i}"))
                    .await,
                "INVALID_CREDENTIALS"
            );
        }
        assert_eq!(
            app.login_outcome(ADMIN_EMAIL, ADMIN_PASSWORD).await,
            "OK",
            "round {round}"
        );
    }
}

async fn counts_are_shared_by_instances(app: TestApp) {
    let other = app.second_instance().await;
    for i in 0..5 {
        app.login_attempt(ADMIN_EMAIL, &format!("a-{i}")).await;
        other.login_attempt(ADMIN_EMAIL, &format!("b-{i}")).await;
    }
    assert_eq!(
        app.login_outcome(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        "RATE_LIMITED"
    );
    assert_eq!(
        other.login_outcome(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        "RATE_LIMITED"
    );
}

async fn token_guessing_is_rate_limited(app: TestApp) {
    let admin = app.admin().await;
    let (_, secret) = app.invite(&admin, &app.admin_role_id().await, None).await;
    let preview = "query($t: String!) { invitationPreview(token: $t) { roleName } }";
    for _ in 0..5 {
        assert!(
            app.ok(None, preview, json!({ "t": secret })).await["invitationPreview"].is_object(),
            "valid tokens use up nothing"
        );
    }
    let complete = "mutation($t: String!) { completePasswordReset(token: $t, newPassword: \"whatever-password\") { errors { code } } }";
    for i in 0..20 {
        let resp = match i % 3 {
            0 => app.gql(None, preview, json!({ "t": format!("guess-{i}") })).await,
            1 => app.gql(None, complete, json!({ "t": format!("guess-{i}") })).await,
            _ => app.gql(None, ACCEPT, json!({ "token": format!("guess-{i}"), "email": "a@example.com", "name": "A", "password": "long-enough-pw" })).await,
        };
        assert!(
            resp["errors"].is_null(),
            "guess {i} is answered normally: {resp}"
        );
    }
    for query in [preview, complete] {
        let resp = app.gql(None, query, json!({ "t": secret })).await;
        assert_eq!(error_code(&resp), "RATE_LIMITED", "{resp}");
    }
    app.clock.advance(Duration::minutes(15));
    assert!(app.ok(None, preview, json!({ "t": secret })).await["invitationPreview"].is_object());
}

/// Sign-ins that find every hashing slot taken are answered `SERVER_BUSY` within 2 s,
/// not queued without bound, and give their attempt back to the throttle.
async fn sign_ins_past_hashing_capacity_are_told_busy(app: TestApp) {
    let role = app.admin_role_id().await;
    let emails: Vec<String> = (0..8).map(|i| format!("storm{i}@example.com")).collect();
    app.add_members_as(&emails, "Storm", &role).await;
    let app = app
        .with_state(|s| s.hasher = roster::auth::Hasher::new(1).unwrap())
        .await;
    // More hashers than the queue holds (32 per slot), each queueing again as soon as
    // it is done or refused: the queue stays full, so a sign-in finds it full, or waits
    // at most the queue timeout.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood: Vec<_> = (0..40)
        .map(|_| {
            let (hasher, stop) = (app.state.hasher.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if hasher.hash("flood-password").await.is_err() {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sign_ins = emails.iter().map(|email| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            let resp = app.login_attempt(email, MEMBER_PASSWORD).await;
            (email, started.elapsed(), resp)
        }
    });
    let answers = futures_util::future::join_all(sign_ins).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for job in flood {
        job.await.unwrap();
    }
    let mut busy = Vec::new();
    for (email, waited, resp) in &answers {
        match login_outcome_of(resp).as_str() {
            "SERVER_BUSY" => {
                assert!(
                    *waited < std::time::Duration::from_secs(2),
                    "{email} told busy after {waited:?}"
                );
                let message = resp["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(message.contains("busy"), "{resp}");
                busy.push(email.as_str());
            }
            "OK" => {}
            other => panic!("{email}: {other} {resp}"),
        }
    }
    let first = *busy
        .first()
        .unwrap_or_else(|| panic!("no sign-in was told busy: {answers:?}"));
    // The busy attempt checked nothing, so that account still has ten in its window.
    for i in 0..10 {
        assert_eq!(
            app.login_outcome(first, &format!("guess-{i}")).await,
            "INVALID_CREDENTIALS",
            "guess {i}"
        );
    }
    assert_eq!(app.login_outcome(first, "guess-10").await, "RATE_LIMITED");
}

/// Sign-in answers take the same time whether the email is unknown, the password wrong
/// or the member frozen. Timing-sensitive: ignored in the parallel run, run alone by CI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing: run alone (.ci/run does)"]
async fn refused_sign_ins_take_the_same_time() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let known = ["k1@example.com", "k2@example.com", "k3@example.com"];
    let frozen = ["f1@example.com", "f2@example.com", "f3@example.com"];
    let emails: Vec<&str> = known.iter().chain(&frozen).copied().collect();
    let ids = app.add_members_as(&emails, "T", &role).await;
    for id in &ids[3..] {
        app.ok(
            Some(&admin),
            "mutation($id: ID!) { freeze(memberId: $id) { changed } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    }
    // A busy machine only ever adds time, so each kind's fastest attempt is what
    // compares, and more attempts can only bring the fastest nearer the true cost. Batches
    // of ten rounds of three stay under the per-address allowance of failures (50) and
    // each account's (10); the clock then moves past the window. A real difference stays
    // whatever the batches; a burst of noise is outlived by the next batch.
    let mut fastest = [f64::MAX; 3];
    let ratio = |fastest: &[f64; 3]| {
        let low = fastest.iter().cloned().fold(f64::MAX, f64::min);
        let high = fastest.iter().cloned().fold(0.0, f64::max);
        high / low
    };
    for batch in 0..6 {
        for round in 0..10 {
            let n = batch * 10 + round;
            let cases = [
                (format!("nobody{n}@example.com"), "some-password".to_owned()),
                (known[n % 3].to_owned(), "wrong-password".to_owned()),
                (frozen[n % 3].to_owned(), MEMBER_PASSWORD.to_owned()),
            ];
            for (kind, (email, password)) in cases.iter().enumerate() {
                let started = std::time::Instant::now();
                let resp = app.login_attempt(email, password).await;
                let elapsed = started.elapsed().as_secs_f64();
                // The first round warms the connections and the hasher up.
                if n > 0 {
                    fastest[kind] = fastest[kind].min(elapsed);
                }
                let expected = if kind == 2 {
                    "MEMBER_FROZEN"
                } else {
                    "INVALID_CREDENTIALS"
                };
                assert_eq!(login_outcome_of(&resp), expected);
            }
        }
        app.clock.advance(Duration::minutes(16));
        if batch >= 1 && ratio(&fastest) <= 1.10 {
            return;
        }
    }
    panic!("fastest (unknown, wrong, frozen) in s: {fastest:?}");
}
