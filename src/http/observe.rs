//! What every request leaves behind for operators: its id (taken from `X-Request-Id`
//! when sane, else made, and returned), a span carrying that id and the trace id of
//! an incoming `traceparent` around every line it logs, one access line, and its
//! duration in the metrics. Also where the client's address is decided.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use tracing::Instrument;

/// The client's address: the peer's, or behind a trusted proxy the one it forwarded.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The request's id, as logged and returned in `X-Request-Id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

/// What the GraphQL endpoint tells the access line about a request.
#[derive(Clone, Debug, Default)]
pub struct Access {
    pub operation_name: Option<String>,
    pub operation_type: Option<&'static str>,
    pub member_id: Option<i64>,
}

/// Proxies whose `X-Forwarded-For` is believed (`ROSTER_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer`: when `peer` is trusted, the right-most
    /// `X-Forwarded-For` entry that is not (each trusted hop appends the address it
    /// saw, so entries left of the first untrusted one are the client's own say);
    /// otherwise `peer`, whatever the header claims.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map_while(|entry| entry.trim().parse().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// `X-Request-Id` when it is a sane token (1-128 of `A-Za-z0-9._-:`), else a new one.
fn request_id(headers: &HeaderMap) -> Arc<str> {
    let given = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b))
        });
    match given {
        Some(id) => Arc::from(id),
        None => {
            let bytes: [u8; 12] = rand::random();
            Arc::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        }
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = value.trim().split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    let valid = trace.len() == 32
        && trace.bytes().all(|b| b.is_ascii_hexdigit())
        && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_ascii_lowercase())
}

/// The middleware: every request, whatever its route.
pub async fn observe(
    State(trusted): State<Arc<TrustedProxies>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let trace = trace_id(request.headers());
    let client = trusted.client(peer.ip(), request.headers());
    request.extensions_mut().insert(ClientAddr(client));
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        trace_id = trace.as_deref().unwrap_or(""),
    );
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let access = response
        .extensions()
        .get::<Access>()
        .cloned()
        .unwrap_or_default();
    let elapsed = started.elapsed();
    super::metrics::request_done(response.status().as_u16(), &access, elapsed);
    let _entered = span.enter();
    tracing::info!(
        target: "roster::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        operation_name = access.operation_name.as_deref().unwrap_or(""),
        operation_type = access.operation_type.unwrap_or(""),
        client = %client,
        member_id = access.member_id,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_of_a_trusted_peer() {
        let trusted = TrustedProxies(vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let xff = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &xff), ip("203.0.113.7"));
        assert_eq!(
            trusted.client(ip("192.0.2.9"), &xff),
            ip("192.0.2.9"),
            "untrusted peer"
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &all_trusted), ip("10.0.0.3"));
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        let garbage = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
        let split = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "10.0.0.5"),
        ]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &split), ip("198.51.100.1"));
    }

    #[test]
    fn request_and_trace_ids_are_taken_only_when_sane() {
        let given = headers(&[("x-request-id", "abc-123.X:y_z")]);
        assert_eq!(&*request_id(&given), "abc-123.X:y_z");
        for bad in ["", "has space", "quote\"", &"a".repeat(129)] {
            let id = request_id(&headers(&[("x-request-id", bad)]));
            assert_eq!(id.len(), 24, "{bad:?} -> {id}");
        }
        let parent = headers(&[(
            "traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        )]);
        assert_eq!(
            trace_id(&parent).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let zero = headers(&[(
            "traceparent",
            &format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
        )]);
        assert_eq!(trace_id(&zero), None);
    }
}
