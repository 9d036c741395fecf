//! Browser assets embedded in the binary (no CDN, nothing fetched at run time), served
//! under a path holding the content hash of their folder (so that ES modules of one
//! folder import each other by relative paths) and kept by browsers for good; the
//! GraphiQL page and the public pages behind Roster's links.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Its folder under `assets/`; files of one folder share a path.
    pub dir: &'static str,
    pub name: &'static str,
    pub bytes: &'static [u8],
    content_type: &'static str,
}

macro_rules! asset {
    ($dir:literal, $name:literal, $type:expr) => {
        Asset {
            dir: $dir,
            name: $name,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/",
                $dir,
                "/",
                $name
            )),
            content_type: $type,
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const GRAPHQL: &str = "application/graphql; charset=utf-8";

/// Every embedded file. Those under `vendor/` are listed with their versions,
/// licences and checksums in `assets/vendor/manifest.json`.
pub static ASSETS: &[Asset] = &[
    asset!("vendor", "react.production.min.js", JS),
    asset!("vendor", "react-dom.production.min.js", JS),
    asset!("vendor", "graphiql.min.js", JS),
    asset!("vendor", "graphiql.min.css", CSS),
    asset!("vendor", "graphql-ws.min.js", JS),
    asset!("graphiql", "graphiql.js", JS),
    asset!("graphiql", "graphiql.css", CSS),
    asset!("console", "console.css", CSS),
    asset!("console", "api.js", JS),
    asset!("console", "dom.js", JS),
    asset!("console", "forms.js", JS),
    asset!("console", "public.js", JS),
    asset!("console", "admin.js", JS),
    asset!("console", "dialogs.js", JS),
    asset!("console", "pager.js", JS),
    asset!("console", "members.js", JS),
    asset!("console", "member-acts.js", JS),
    asset!("console", "invitations.js", JS),
    asset!("console", "roles.js", JS),
    asset!("console", "settings.js", JS),
    asset!("console", "audit.js", JS),
    asset!("console", "sessions.js", JS),
    asset!("console", "bulk.js", JS),
    asset!("console", "invite-many.js", JS),
    asset!("console", "live.js", JS),
    Asset {
        dir: "console",
        name: "operations.graphql",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/operations.graphql")),
        content_type: GRAPHQL,
    },
];

/// The short content hash of each asset's folder (all its files), computed once.
static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let mut digest = Sha256::new();
            for file in ASSETS.iter().filter(|other| other.dir == asset.dir) {
                digest.update(file.name.as_bytes());
                digest.update(file.bytes);
            }
            digest.finalize()[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect()
});

/// The path `name` is served under.
pub fn path_of(name: &str) -> String {
    let index = ASSETS
        .iter()
        .position(|asset| asset.name == name)
        .unwrap_or_else(|| panic!("{name} is not an embedded asset"));
    format!("/assets/{}/{name}", HASHES[index])
}

/// `GET /assets/{hash}/{name}`: the asset, cached for a year; 404 for a stale hash.
pub async fn serve(Path((hash, name)): Path<(String, String)>) -> Response {
    let found = ASSETS
        .iter()
        .zip(HASHES.iter())
        .find(|(asset, known)| asset.name == name && **known == hash);
    let Some((asset, _)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// GraphiQL's page policy: scripts and styles from Roster only, no inline code, requests
/// to Roster only; fonts and icons come as `data:` URLs inside GraphiQL's stylesheet.
/// The one style element GraphiQL adds at run time carries the response's nonce.
fn graphiql_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// `template` with each `{{file}}` replaced by that asset's path.
fn fill(template: &str) -> String {
    ASSETS.iter().fold(template.to_owned(), |page, asset| {
        page.replace(&format!("{{{{{}}}}}", asset.name), &path_of(asset.name))
    })
}

/// The page with its assets' paths in place (the nonce is set per response).
static GRAPHIQL_PAGE: LazyLock<String> = LazyLock::new(|| {
    fill(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/graphiql/index.html"
    )))
});

/// The pages behind Roster's links: one shell, its module reads the path.
static PUBLIC_PAGE: LazyLock<String> = LazyLock::new(|| {
    fill(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/console/public.html"
    )))
});

/// The console at `/admin`: one shell, its module reads the path.
static ADMIN_PAGE: LazyLock<String> = LazyLock::new(|| {
    fill(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/console/admin.html"
    )))
});

/// `GET /admin` and every path below it: the console.
pub async fn admin_page() -> Response {
    with_policy(ADMIN_PAGE.as_str())
}

/// The public pages' policy: Roster's own scripts, styles and API, nothing inline.
const PUBLIC_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// `GET /invite/{token}` and `GET /reset-password/{token}`. The token stays in the
/// address bar only: the page reads it from there, and no-referrer keeps it from
/// leaving with any request.
pub async fn public_page() -> Response {
    with_policy(PUBLIC_PAGE.as_str())
}

/// `page` under [`PUBLIC_POLICY`].
fn with_policy(page: &'static str) -> Response {
    let mut response = axum::response::Html(page).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PUBLIC_POLICY),
    );
    response
}

/// `GET /`: GraphiQL.
pub async fn graphiql() -> Response {
    use base64::Engine;
    let nonce: [u8; 16] = rand::random();
    let nonce = base64::engine::general_purpose::STANDARD.encode(nonce);
    let page = GRAPHIQL_PAGE.replace("{{nonce}}", &nonce);
    let mut response = axum::response::Html(page).into_response();
    let policy = HeaderValue::from_str(&graphiql_policy(&nonce)).expect("base64 is a header value");
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_path() {
        let unfilled = GRAPHIQL_PAGE.replace("{{nonce}}", "");
        assert!(!unfilled.contains("{{"), "{}", *GRAPHIQL_PAGE);
        for asset in ASSETS.iter().filter(|a| a.dir != "console") {
            assert!(
                GRAPHIQL_PAGE.contains(&path_of(asset.name)),
                "{}",
                asset.name
            );
        }
    }

    /// A module the console imports but `ASSETS` misses would 404 in the browser.
    #[test]
    fn every_console_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/console");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".html") {
                continue;
            }
            assert!(
                ASSETS.iter().any(|a| a.dir == "console" && a.name == name),
                "assets/console/{name} is not in ASSETS"
            );
        }
    }
}
