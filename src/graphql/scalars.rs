//! The `DateTime` scalar: RFC 3339 in UTC with a `Z`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDateTime, SecondsFormat, Utc};

/// An instant in UTC, RFC 3339 (e.g. 2026-11-28T08:00:00Z).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

impl DateTime {
    /// The instant as the database stores it: UTC, to the microsecond.
    pub fn stored(self) -> NaiveDateTime {
        use chrono::SubsecRound;
        self.0.naive_utc().trunc_subsecs(6)
    }
}

impl From<NaiveDateTime> for DateTime {
    fn from(t: NaiveDateTime) -> Self {
        DateTime(t.and_utc())
    }
}

/// An instant in UTC, RFC 3339 (e.g. 2026-11-28T08:00:00Z).
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 instant")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}
