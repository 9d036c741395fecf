//! `GET /graphql` with a WebSocket upgrade: subscriptions over the
//! `graphql-transport-ws` protocol (the `graphql-ws` library's, which Apollo Client,
//! urql and GraphiQL speak).
//!
//! The client authenticates in `connection_init`'s payload (`{"Authorization": "Bearer
//! <token>"}`); a bad or missing token closes with 4403, no `connection_init` within
//! 10 s with 4408. The limits of [`super::live::LiveLimits`] apply: subscriptions per
//! connection, connections per session and per instance; the server pings every
//! `ping_every` and drops a client silent for three times that.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_stream::StreamMap;

use super::endpoint::{Http, operation_type, user_agent};
use super::live::Live;
use super::observe::ClientAddr;
use crate::domain::Viewer;
use crate::graphql::RequestCtx;
use crate::graphql::live_render::{self, Delivery, RenderKey, Subscription};

/// The subprotocol served.
const PROTOCOL: &str = "graphql-transport-ws";

/// Longest a client may take to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read from a connection at a time: tungstenite zeroes this much on every read
/// attempt, and each delivery makes one (the connection's loop polls the socket again).
/// Client messages are small; a longer one takes several reads.
const READ_BUFFER: usize = 512;

/// Longest one message may take to leave; a client that reads slower is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /graphql`: a WebSocket upgrade, or else the GET of GraphQL over HTTP.
pub async fn get(
    State(http): State<Http>,
    client: axum::Extension<ClientAddr>,
    id: axum::Extension<super::observe::RequestId>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    if !asks_upgrade(&parts.headers) {
        let raw = axum::extract::RawQuery(parts.uri.query().map(str::to_owned));
        return super::endpoint::get(State(http), client, id, parts.headers, raw).await;
    }
    let live = http.live.clone();
    if !live.allows(&parts.headers, &http.app.public_url) {
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a live connection",
        )
            .into_response();
    }
    let Ok(slot) = live.slots.clone().try_acquire_owned() else {
        super::metrics::limit_refused("live connections");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many live connections").into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let offered = offers_protocol(&parts.headers);
    let peer = Peer {
        ip: client.0.0,
        user_agent: user_agent(&parts.headers),
    };
    upgrade
        .protocols([PROTOCOL])
        // tungstenite sizes (and zeroes) its read buffer to this on every read: at
        // its default of 128 KiB that was most of the CPU of delivering changes, and
        // most of each connection's memory. Client messages are small.
        .read_buffer_size(READ_BUFFER)
        .max_message_size(super::endpoint::MAX_BODY_BYTES)
        .on_upgrade(move |socket| async move {
            let mut connection = Connection {
                http,
                socket,
                peer,
                viewer: None,
                token: None,
                session: None,
                running: StreamMap::new(),
                _slot: slot,
            };
            if offered {
                connection.serve().await;
            } else {
                connection.close(4406, "Subprotocol not acceptable").await;
            }
        })
}

fn asks_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn offers_protocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL)
}

/// The viewer of `token` as the session stands now; a token of no live session closes
/// the connection with 4403.
async fn viewer_of(http: &Http, token: &str) -> Result<Viewer, (u16, &'static str)> {
    match Viewer::from_token(&http.app, token).await {
        Ok(Some(viewer)) => Ok(viewer),
        Ok(None) => Err((4403, "Forbidden: the token is not a live session")),
        Err(e) => {
            tracing::warn!(error = %e.detail(), "a live connection could not check its token");
            Err((1011, "Internal error"))
        }
    }
}

struct Peer {
    ip: IpAddr,
    user_agent: Option<String>,
}

/// The session's place among this instance's live connections; leaving gives it back.
struct SessionShare {
    live: Arc<Live>,
    session: i64,
}

impl Drop for SessionShare {
    fn drop(&mut self) {
        let mut counts = self
            .live
            .per_session
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.session) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.session);
            }
        }
    }
}

struct Connection {
    http: Http,
    socket: WebSocket,
    peer: Peer,
    viewer: Option<Viewer>,
    /// The token of `connection_init`, to read the viewer again at each subscribe.
    token: Option<String>,
    session: Option<SessionShare>,
    running: StreamMap<String, BoxStream<'static, Delivery>>,
    _slot: OwnedSemaphorePermit,
}

/// Why the connection ends: a close code and reason, or the client left.
type End = Option<(u16, &'static str)>;

impl Connection {
    async fn serve(&mut self) {
        metrics::gauge!("roster_live_connections").increment(1.0);
        let end = self.run().await;
        metrics::gauge!("roster_live_connections").decrement(1.0);
        if let Some((code, reason)) = end {
            self.close(code, reason).await;
        }
    }

    async fn run(&mut self) -> End {
        let limits = self.http.live.limits;
        let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(init_deadline);
        let mut ping = tokio::time::interval(limits.ping_every);
        ping.reset();
        let mut heard = Instant::now();
        loop {
            // Deliveries before the socket: a turn that delivers then need not poll it.
            tokio::select! {
                biased;
                () = &mut init_deadline, if self.viewer.is_none() => {
                    return Some((4408, "Connection initialisation timeout"));
                }
                _ = ping.tick() => {
                    if heard.elapsed() > limits.ping_every * 3 {
                        return Some((1001, "no answer to pings"));
                    }
                    self.send(Message::Ping(Default::default())).await?;
                }
                Some((id, outcome)) = self.running.next(), if !self.running.is_empty() => {
                    if let Err(end) = self.deliver_ready(id, outcome).await {
                        return Some(end);
                    }
                }
                received = self.socket.recv() => {
                    let message = match received {
                        Some(Ok(message)) => message,
                        _ => return None,
                    };
                    heard = Instant::now();
                    let text = match message {
                        Message::Text(text) => Some(text),
                        Message::Binary(_) => return Some((4400, "Messages are JSON text")),
                        Message::Close(_) => return None,
                        // tungstenite queued the answer to a ping: the flush sends it.
                        Message::Ping(_) | Message::Pong(_) => None,
                    };
                    if let Some(text) = text
                        && let Err(end) = self.received(text.as_str()).await
                    {
                        return Some(end);
                    }
                }
            }
            if self.flush().await.is_none() {
                return Some((1001, "gone"));
            }
        }
    }

    /// Queues this delivery and every other one already at hand, so that changes
    /// read together leave in one write.
    async fn deliver_ready(
        &mut self,
        id: String,
        delivery: Delivery,
    ) -> Result<(), (u16, &'static str)> {
        self.deliver(id, delivery).await?;
        while let Some(Some((id, delivery))) = self.running.next().now_or_never() {
            self.deliver(id, delivery).await?;
        }
        Ok(())
    }

    /// Acts on one client message; `Err` (as `Some`) closes the connection.
    async fn received(&mut self, text: &str) -> Result<(), (u16, &'static str)> {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return Err((4400, "Invalid message: not JSON"));
        };
        match message["type"].as_str() {
            Some("connection_init") => self.init(&message["payload"]).await,
            Some("ping") => {
                let pong = json!({ "type": "pong" });
                self.send_json(&pong).await.map_err(|()| (1001, "gone"))
            }
            Some("pong") => Ok(()),
            Some("subscribe") => {
                let Some(id) = message["id"].as_str().filter(|id| !id.is_empty()) else {
                    return Err((4400, "Invalid message: subscribe needs an id"));
                };
                if self.viewer.is_none() {
                    return Err((4401, "Unauthorized"));
                }
                if self.running.contains_key(id) {
                    return Err((4409, "Subscriber for this id already exists"));
                }
                self.subscribe(id.to_owned(), &message["payload"]).await
            }
            Some("complete") => {
                if let Some(id) = message["id"].as_str() {
                    self.running.remove(id);
                }
                Ok(())
            }
            _ => Err((4400, "Invalid message: unknown type")),
        }
    }

    async fn init(&mut self, payload: &Value) -> Result<(), (u16, &'static str)> {
        if self.viewer.is_some() {
            return Err((4429, "Too many initialisation requests"));
        }
        let Some(token) = bearer(payload) else {
            return Err((
                4403,
                "Forbidden: send {\"Authorization\": \"Bearer <token>\"}",
            ));
        };
        let viewer = viewer_of(&self.http, token).await?;
        let live = self.http.live.clone();
        {
            let mut counts = live.per_session.lock().unwrap_or_else(|e| e.into_inner());
            let open = counts.entry(viewer.session_id).or_insert(0);
            if *open >= live.limits.per_session {
                super::metrics::limit_refused("live connections per session");
                return Err((1013, "Too many live connections for this session"));
            }
            *open += 1;
        }
        self.session = Some(SessionShare {
            live,
            session: viewer.session_id,
        });
        self.viewer = Some(viewer);
        self.token = Some(token.to_owned());
        self.send_json(&json!({ "type": "connection_ack" }))
            .await
            .map_err(|()| (1001, "gone"))
    }

    async fn subscribe(&mut self, id: String, payload: &Value) -> Result<(), (u16, &'static str)> {
        let mut request = match serde_json::from_value::<async_graphql::Request>(payload.clone()) {
            Ok(request) => request,
            Err(_) => return Err((4400, "Invalid message: subscribe needs a query")),
        };
        if self.running.len() >= self.http.live.limits.subscriptions {
            super::metrics::limit_refused("subscriptions per connection");
            let message = format!(
                "at most {} subscriptions may run on one connection",
                self.http.live.limits.subscriptions
            );
            return self.refuse(&id, &message, "LIMIT_EXCEEDED").await;
        }
        let prepared = match self
            .http
            .documents
            .prepare_async(&mut request, self.http.limits)
            .await
        {
            Ok(prepared) => prepared,
            Err(error) => {
                let errors = json!([error]);
                return self.send_error(&id, errors).await;
            }
        };
        if operation_type(&prepared, request.operation_name.as_deref()) != Some("subscription") {
            let message = "only subscriptions are served over WebSocket; send queries and mutations over HTTP";
            return self.refuse(&id, message, "BAD_REQUEST").await;
        }
        let viewer = self.viewer_now().await?.clone();
        let schema = match prepared.valid {
            true => &self.http.validated,
            false => &self.http.schema,
        };
        let doc = prepared.doc.ok_or((1011, "Internal error"))?;
        let key = self.http.live.renders.intern(RenderKey::of(
            &request.query,
            &serde_json::to_string(&request.variables).unwrap_or_default(),
            request.operation_name.as_deref(),
            viewer.permissions.bits(),
            viewer.member.id,
        ));
        let subscription = Subscription {
            schema: schema.clone(),
            validated: self.http.validated.clone(),
            request,
            doc,
            key,
            ctx: RequestCtx {
                viewer: self.viewer.clone(),
                ip: Some(self.peer.ip),
                user_agent: self.peer.user_agent.clone(),
            },
            pool: self.http.app.pool.clone(),
            renders: self.http.live.renders.clone(),
        };
        self.running.insert(id, live_render::run(subscription));
        Ok(())
    }

    /// The viewer as the session stands now: a subscription renders with the
    /// permissions its session has when it starts (the feed ends one whose role
    /// changes since, to be started again).
    async fn viewer_now(&mut self) -> Result<&Viewer, (u16, &'static str)> {
        let token = self.token.as_deref().ok_or((4401, "Unauthorized"))?;
        let viewer = viewer_of(&self.http, token).await?;
        Ok(self.viewer.insert(viewer))
    }

    /// Queues a subscription's response (or its end); a response telling that the
    /// session ended closes the connection.
    async fn deliver(&mut self, id: String, delivery: Delivery) -> Result<(), (u16, &'static str)> {
        let (first, response) = match delivery {
            Delivery::Response { first, response } => (first, response),
            Delivery::Text(payload) => return self.send_next(&id, &payload).await,
            Delivery::End => {
                return self
                    .send_json(&json!({ "type": "complete", "id": id }))
                    .await
                    .map_err(|()| (1001, "gone"));
            }
        };
        // Refused before it ran (it does not validate): the protocol's `error`, which
        // ends the operation without `complete`.
        if first
            && response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty())
        {
            self.running.remove(&id);
            let errors =
                serde_json::to_value(&response.errors).map_err(|_| (1011, "Internal error"))?;
            return self.send_error(&id, errors).await;
        }
        let ended = response.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from("UNAUTHENTICATED"))
        });
        // Written as text, not through serde_json's Value, which would sort the fields.
        let payload = serde_json::to_string(&response).map_err(|_| (1011, "Internal error"))?;
        self.send_next(&id, &payload).await?;
        if ended {
            self.send_json(&json!({ "type": "complete", "id": id }))
                .await
                .map_err(|()| (1001, "gone"))?;
            return Err((4403, "Forbidden: the session ended"));
        }
        Ok(())
    }

    /// Queues a `next` with this payload text.
    async fn send_next(&mut self, id: &str, payload: &str) -> Result<(), (u16, &'static str)> {
        let id = serde_json::to_string(id).map_err(|_| (1011, "Internal error"))?;
        // Sized exactly: the bytes then become the message without another allocation.
        let next = [
            r#"{"type":"next","id":"#,
            &id,
            r#","payload":"#,
            payload,
            "}",
        ]
        .concat();
        self.send(Message::Text(Utf8Bytes::from(next)))
            .await
            .ok_or((1001, "gone"))
    }

    async fn refuse(
        &mut self,
        id: &str,
        message: &str,
        code: &str,
    ) -> Result<(), (u16, &'static str)> {
        let errors = json!([{ "message": message, "extensions": { "code": code } }]);
        self.send_error(id, errors).await
    }

    async fn send_error(&mut self, id: &str, errors: Value) -> Result<(), (u16, &'static str)> {
        let message = json!({ "type": "error", "id": id, "payload": errors });
        self.send_json(&message).await.map_err(|()| (1001, "gone"))
    }

    async fn send_json(&mut self, value: &Value) -> Result<(), ()> {
        self.send(Message::Text(Utf8Bytes::from(value.to_string())))
            .await
            .ok_or(())
    }

    /// Queues `message` (the connection's loop flushes after each turn); `None` when
    /// the client is gone or reads too slowly.
    async fn send(&mut self, message: Message) -> Option<()> {
        in_time(self.socket.feed(message)).await
    }

    /// Writes what is queued; `None` when the client is gone or reads too slowly.
    async fn flush(&mut self) -> Option<()> {
        in_time(self.socket.flush()).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        if self.send(Message::Close(Some(frame))).await.is_some() {
            let _ = self.flush().await;
        }
    }
}

/// `write` done within [`SEND_TIMEOUT`]; `None` when it failed or took longer. A write
/// that completes at once (the usual case) sets no timer.
async fn in_time<E>(write: impl Future<Output = Result<(), E>>) -> Option<()> {
    tokio::pin!(write);
    if let Some(done) = (&mut write).now_or_never() {
        return done.ok();
    }
    tokio::time::timeout(SEND_TIMEOUT, write).await.ok()?.ok()
}

/// The token in `connection_init`'s payload: `Authorization` (any case), with or
/// without the `Bearer ` prefix.
fn bearer(payload: &Value) -> Option<&str> {
    let value = payload
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))?
        .1
        .as_str()?
        .trim();
    let token = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}
