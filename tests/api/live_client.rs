//! A graphql-transport-ws client over a real WebSocket, for the live tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The selection every live test reads.
pub const CHANGES: &str = "subscription($after: String) { memberChanged(after: $after) {
  cursor action at
  member { id email status role { id name } }
  invitation { id status email }
  role { id name permissions }
  actor { id email }
} }";

/// Opens a WebSocket to `base`'s `/graphql` offering `protocol` (none when empty) with
/// `origin`; the handshake's error when refused.
pub async fn open_with(
    base: &str,
    protocol: &str,
    origin: Option<&str>,
) -> Result<Socket, WsError> {
    let url = format!("{}/graphql", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    if !protocol.is_empty() {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s)
}

/// A live connection past `connection_ack`.
pub struct Live {
    pub socket: Socket,
}

impl Live {
    /// Connects and initialises with `token`.
    pub async fn connect(base: &str, token: &str) -> Live {
        let mut socket = open_with(base, "graphql-transport-ws", None).await.unwrap();
        send(&mut socket, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })).await;
        let ack = next_json(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        Live { socket }
    }

    /// Starts the subscription `id` on [`CHANGES`] after `after`.
    pub async fn subscribe(&mut self, id: &str, after: Option<&str>) {
        let payload = json!({ "query": CHANGES, "variables": { "after": after } });
        send(
            &mut self.socket,
            json!({ "type": "subscribe", "id": id, "payload": payload }),
        )
        .await;
    }

    /// Starts the subscription `id` on `query` with `variables`.
    pub async fn subscribe_to(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({ "query": query, "variables": variables });
        send(
            &mut self.socket,
            json!({ "type": "subscribe", "id": id, "payload": payload }),
        )
        .await;
    }

    /// The next protocol message, waiting at most `wait`.
    pub async fn next(&mut self, wait: Duration) -> Value {
        next_json(&mut self.socket, wait).await
    }

    /// The next `memberChanged` of subscription `id` (panics on anything else).
    pub async fn change(&mut self, id: &str, wait: Duration) -> Value {
        let message = self.next(wait).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        let change = &message["payload"]["data"]["memberChanged"];
        assert!(change.is_object(), "{message}");
        change.clone()
    }

    /// Every change that arrives until none has for `quiet`.
    pub async fn drain(&mut self, id: &str, quiet: Duration) -> Vec<Value> {
        let mut changes = Vec::new();
        while let Some(message) = try_next_json(&mut self.socket, quiet).await {
            assert_eq!(message["type"], "next", "{message}");
            assert_eq!(message["id"], id, "{message}");
            changes.push(message["payload"]["data"]["memberChanged"].clone());
        }
        changes
    }
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next text message as JSON; panics on a close or after `wait`.
pub async fn next_json(socket: &mut Socket, wait: Duration) -> Value {
    match try_next_json(socket, wait).await {
        Some(v) => v,
        None => panic!("no message within {wait:?}"),
    }
}

/// The next text message as JSON, or `None` after `wait` of silence.
pub async fn try_next_json(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(wait, socket.next()).await.ok()?;
        match message {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads until the server closes; the close code and reason.
pub async fn closed(socket: &mut Socket, wait: Duration) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("not closed within {wait:?}"));
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => {
                return (u16::from(CloseCode::Status), String::new());
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket failed before a close: {e}"),
        }
    }
}

/// The event id inside a change's cursor.
pub fn cursor_id(change: &Value) -> i64 {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(change["cursor"].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .strip_prefix("change:")
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits until `feed` serves `n` subscriptions: each has fixed where it starts.
pub async fn until_subscribed(feed: &roster::domain::feed::Feed, n: usize) {
    for _ in 0..500 {
        if feed.subscribers() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} subscriptions, not {n}", feed.subscribers());
}
