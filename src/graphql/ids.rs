//! The one place where a GraphQL `ID` becomes a domain id.

use async_graphql::ID;

/// The domain id `id` names. Ids are the positive decimal numbers the API shows;
/// anything else names nothing and becomes 0, which no row has, so the use case
/// answers it as it answers an unknown id (`NOT_FOUND`, null, an empty list).
pub fn domain_id(id: &ID) -> i64 {
    parse(id).unwrap_or(0)
}

/// The API id spelled by `raw` (a positive decimal number, as the API writes it).
pub fn parse(raw: &str) -> Option<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && raw.len() < 20 && !raw.starts_with('+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_decimal_numbers() {
        assert_eq!(parse("42"), Some(42));
        for bad in ["", "0", "-1", "+1", "abc", "1e3", "99999999999999999999"] {
            assert_eq!(parse(bad), None, "{bad:?}");
            assert_eq!(domain_id(&ID(bad.into())), 0, "{bad:?}");
        }
    }
}
