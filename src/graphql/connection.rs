//! Cursor pagination shared by every list.

use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::Error;

/// Most items one page returns; larger `first` values are capped.
pub const MAX_PAGE: i32 = 100;

/// Where a page stands in its list.
#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// Whether items precede this page.
    pub has_previous_page: bool,
    /// Cursor of the first item of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of the page; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// The opaque cursor of the item with this id.
pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

/// The id inside a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<i64, Error> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("id:").and_then(super::ids::parse))
        .ok_or_else(|| Error::BadInput("after: not a cursor of this list".into()))
}

/// Validates `first`, capping it at [`MAX_PAGE`].
pub fn page_size(first: i32) -> Result<i64, Error> {
    if first < 0 {
        return Err(Error::BadInput("first: must be 0 or more".into()));
    }
    Ok(i64::from(first.min(MAX_PAGE)))
}

/// Splits `rows` fetched with one extra beyond `limit` into the page and whether more follow.
pub fn trim_page<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or_default();
    let more = rows.len() > limit;
    rows.truncate(limit);
    (rows, more)
}

/// Page info for items with these ids.
pub fn page_info(ids: &[i64], has_next_page: bool, has_previous_page: bool) -> PageInfo {
    PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: ids.first().copied().map(encode_cursor),
        end_cursor: ids.last().copied().map(encode_cursor),
    }
}
