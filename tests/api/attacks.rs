//! Anonymous requests that once killed or stalled the server, sent to a running
//! `roster serve` process: each is refused quickly and the server keeps answering.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::cli::{ServerProcess, spawn_serve, terminate};
use crate::common::*;

crate::on_both_databases_raw!(
    deeply_nested_values_are_refused_and_the_server_lives,
    fragment_graphs_cost_their_length_not_their_expansion,
);

/// 4,096 connections and a time bound: run alone, on both databases, as CI does.
mod slow_bodies {
    use crate::common::{Backend, TestDb};

    async fn run(backend: Backend) {
        if let Some(db) = TestDb::new(backend).await {
            super::slow_bodies_are_cut_off_and_one_address_cannot_lock_others_out(db).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "load: run alone (.ci/run does)"]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "load: run alone (.ci/run does)"]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

/// Long documents are parsed one at a time off the worker threads: a few of them in
/// flight leave `/healthz` answering at once. No database is involved. Timing: run
/// alone, as CI does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing: run alone (.ci/run does)"]
async fn long_documents_do_not_stall_other_requests() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let server = spawn_serve(&db.raw_url, &[]);
    let long = json!({ "query": format!("{{ {}}}", "a ".repeat(200_000)) });
    let started = Instant::now();
    let requests: Vec<_> = (0..3)
        .map(|_| {
            let (base, long) = (server.base.clone(), long.clone());
            tokio::spawn(async move { post_raw(&base, &long).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut slowest = Duration::ZERO;
    while requests.iter().any(|r| !r.is_finished()) && started.elapsed() < Duration::from_secs(60) {
        let asked = Instant::now();
        let health = reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for request in requests {
        let (_, resp) = request.await.unwrap();
        assert_eq!(limit_of(&resp), "document size", "{resp}");
    }
    assert!(
        slowest < Duration::from_millis(500),
        "/healthz took {slowest:?}"
    );
    assert_eq!(terminate(server), Some(0));
}

async fn post_raw(base: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(body)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("the server answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The server answers `/healthz` and a GraphQL query within 5 s (a stalled one did
/// not answer for minutes; other tests share the machine).
async fn still_serving(server: &ServerProcess) {
    let started = Instant::now();
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let (_, resp) = post_raw(&server.base, &json!({ "query": "{ __typename }" })).await;
    assert_eq!(resp["data"]["__typename"], "Query", "{resp}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

fn limit_of(resp: &Value) -> &str {
    assert_eq!(error_code(resp), "QUERY_LIMIT_EXCEEDED", "{resp}");
    resp["errors"][0]["extensions"]["limit"].as_str().unwrap()
}

async fn deeply_nested_values_are_refused_and_the_server_lives(db: TestDb) {
    let server = spawn_serve(&db.raw_url, &[]);
    let list = |n: usize| {
        format!(
            "{{ roles(x: {}1{}) {{ id }} }}",
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    let object = |n: usize| {
        format!(
            "{{ members(filter: {}\"a\"{}) {{ totalCount }} }}",
            "{search: ".repeat(n),
            "}".repeat(n)
        )
    };
    // 2,000 levels killed the process; 1,500 passed the parser. 200,000 fits the body limit.
    for query in [list(2_000), list(200_000), object(2_000), object(100_000)] {
        let (status, resp) = post_raw(&server.base, &json!({ "query": query })).await;
        assert_eq!(status, 200);
        assert_eq!(limit_of(&resp), "nesting");
        let message = resp["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("64"), "the limit is named: {message}");
        still_serving(&server).await;
    }
    let fine = "{ roles(first: 5) { id } }";
    let (_, resp) = post_raw(
        &server.base,
        &json!({ "query": list(40).replace("roles(x:", "__type(name:") }),
    )
    .await;
    assert_ne!(
        resp["errors"][0]["extensions"]["limit"], "nesting",
        "40 levels pass: {resp}"
    );
    let (_, resp) = post_raw(&server.base, &json!({ "query": fine })).await;
    assert_ne!(
        resp["errors"][0]["extensions"]["code"], "QUERY_LIMIT_EXCEEDED",
        "{resp}"
    );
    // Deep variables never reach the schema: the JSON reader has its own bound.
    let deep_json = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    let body = format!(r#"{{"query":"{{ __typename }}","variables":{{"x":{deep_json}}}}}"#);
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    still_serving(&server).await;
    assert_eq!(
        terminate(server),
        Some(0),
        "the process lived to stop gracefully"
    );
}

/// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } ... fragment F{n-1} { ...Nowhere }`
fn doubling_fragments(n: usize) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..n - 1 {
        doc += &format!("fragment F{i} on Query {{ ...F{0} ...F{0} }}\n", i + 1);
    }
    doc += &format!("fragment F{} on Query {{ ...Nowhere }}\n", n - 1);
    doc
}

async fn fragment_graphs_cost_their_length_not_their_expansion(db: TestDb) {
    let server = spawn_serve(&db.raw_url, &[]);
    // n = 30 ran for about four minutes; two of them stalled /healthz for seconds. The
    // bounds below are loose on purpose: this runs beside other tests on a shared machine.
    let started = Instant::now();
    let requests = (0..2).map(|_| {
        let base = server.base.clone();
        tokio::spawn(
            async move { post_raw(&base, &json!({ "query": doubling_fragments(30) })).await },
        )
    });
    still_serving(&server).await;
    for request in requests {
        let (_, resp) = request.await.unwrap();
        assert_eq!(limit_of(&resp), "fragment spreads", "{resp}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // Doubling fields instead of spreads: refused by the field count.
    let fields = doubling_fragments(40).replace("...Nowhere", "__typename");
    let (_, resp) = post_raw(&server.base, &json!({ "query": fields })).await;
    assert_eq!(limit_of(&resp), "field count", "{resp}");
    // Past 64 levels of sets and spreads the nesting is refused, whichever fragment the
    // check happens to walk first (fragments are kept in a hash map, and a fragment's
    // cost is remembered once walked).
    for _ in 0..8 {
        let deep = doubling_fragments(70).replace("...Nowhere", "__typename");
        let (_, resp) = post_raw(&server.base, &json!({ "query": deep })).await;
        assert_eq!(limit_of(&resp), "nesting", "{resp}");
    }
    // A long chain of fragments, used or not, nests as deep as it is long.
    let chain: String = (0..3_000)
        .map(|i| format!("fragment C{i} on Query {{ ...C{} }}\n", i + 1))
        .collect();
    for query in [
        format!("query {{ ...C0 }}\n{chain}"),
        format!("query {{ __typename }}\n{chain}"),
    ] {
        let (_, resp) = post_raw(&server.base, &json!({ "query": query })).await;
        assert_eq!(limit_of(&resp), "nesting", "{resp}");
    }
    // Many small unused fragments: the written size is bounded too.
    let many: String = (0..3_000)
        .map(|i| format!("fragment U{i} on Query {{ __typename a: __typename }}\n"))
        .collect();
    let (_, resp) = post_raw(
        &server.base,
        &json!({ "query": format!("{{ __typename }}\n{many}") }),
    )
    .await;
    assert_eq!(limit_of(&resp), "document size", "{resp}");
    // A modest fragment graph still runs.
    let (_, resp) = post_raw(
        &server.base,
        &json!({ "query": doubling_fragments(4).replace("...Nowhere", "__typename") }),
    )
    .await;
    assert_eq!(resp["data"]["__typename"], "Query", "{resp}");
    still_serving(&server).await;
    assert_eq!(terminate(server), Some(0));
}

/// A connection from `source` that sends a request's headers and the first byte of a
/// body it never finishes.
async fn slow_request(source: &str, port: u16) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(format!("{source}:0").parse().ok()?).ok()?;
    let mut stream = socket
        .connect(format!("127.0.0.1:{port}").parse().ok()?)
        .await
        .ok()?;
    let head = "POST /graphql HTTP/1.1\r\nhost: roster\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
    stream.write_all(head.as_bytes()).await.ok()?;
    Some(stream)
}

async fn slow_bodies_are_cut_off_and_one_address_cannot_lock_others_out(db: TestDb) {
    let server = spawn_serve(&db.raw_url, &[("ROSTER_BODY_TIMEOUT_SECS", "2")]);
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    // A trickled body is answered 408 once the body limit passes, not held for ever.
    let mut trickle = slow_request("127.0.0.1", port).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    while started.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        if trickle.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(10), trickle.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.starts_with(b"HTTP/1.1 408") {
                break;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "answered: {answer:?}");
    assert!(answer.contains("ROSTER_BODY_TIMEOUT_SECS"), "{answer}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // 4,096 slow connections from one address: the others are still served.
    let opened =
        futures_util::future::join_all((0..4_096).map(|_| slow_request("127.0.0.2", port))).await;
    let held: Vec<TcpStream> = opened.into_iter().flatten().collect();
    assert!(held.len() > 1_000, "the attacker connected: {}", held.len());
    still_serving(&server).await;
    let login =
        json!({ "query": LOGIN, "variables": { "email": "nobody@example.com", "password": "x" } });
    let (status, _) = post_raw(&server.base, &login).await;
    assert_eq!(status, 200);
    drop(held);
    assert_eq!(terminate(server), Some(0));
}
