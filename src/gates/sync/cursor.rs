//! The feed's cursor: where a device stands, as an opaque string (base64url of a short,
//! versioned text). It is parsed strictly and checked against the log's horizon (`feed.rs`), so
//! garbage or a cursor from the future is refused (400 `invalid_cursor`) instead of silently
//! skipping changes. Forging one gains nothing: every page is filtered by the device's event and
//! zones whatever the cursor says.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;

/// A position in the changes log: after the row (`xact`, `seq`). `seq` 0 is before every row
/// of the transaction `xact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    pub xact: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncCursor {
    /// A first sync, paging through the live badges by id, after `after`; then the log from
    /// `then` (every change its first page might not have seen).
    Snapshot {
        after: Option<Uuid>,
        then: LogPosition,
    },
    /// Following the log, after this position.
    Log(LogPosition),
}

const VERSION: &str = "v1";

pub fn invalid_cursor() -> ApiError {
    ApiError::BadRequest {
        code: "invalid_cursor",
        detail: "This cursor was not handed out by this feed; sync again without a cursor.".into(),
    }
}

impl SyncCursor {
    pub fn encode(&self) -> String {
        let text = match self {
            SyncCursor::Snapshot { after, then } => format!(
                "{VERSION}.s.{}.{}.{}",
                after.map_or_else(|| "-".to_owned(), |id| id.simple().to_string()),
                then.xact,
                then.seq
            ),
            SyncCursor::Log(at) => format!("{VERSION}.l.{}.{}", at.xact, at.seq),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(cursor: &str) -> Result<Self, ApiError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| invalid_cursor())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid_cursor())?;
        let parts: Vec<&str> = text.split('.').collect();
        let position = |xact: &str, seq: &str| -> Result<LogPosition, ApiError> {
            let parse = |n: &str| n.parse::<i64>().ok().filter(|n| *n >= 0);
            Ok(LogPosition {
                xact: parse(xact).ok_or_else(invalid_cursor)?,
                seq: parse(seq).ok_or_else(invalid_cursor)?,
            })
        };
        match parts.as_slice() {
            [VERSION, "s", after, xact, seq] => Ok(SyncCursor::Snapshot {
                after: match *after {
                    "-" => None,
                    id => Some(Uuid::try_parse(id).map_err(|_| invalid_cursor())?),
                },
                then: position(xact, seq)?,
            }),
            [VERSION, "l", xact, seq] => Ok(SyncCursor::Log(position(xact, seq)?)),
            _ => Err(invalid_cursor()),
        }
    }

    /// The log position the cursor leads to: where a device stands once it has read it.
    pub fn log_position(&self) -> LogPosition {
        match self {
            SyncCursor::Snapshot { then, .. } => *then,
            SyncCursor::Log(at) => *at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_garbage_is_refused() {
        let then = LogPosition { xact: 1234, seq: 0 };
        for cursor in [
            SyncCursor::Snapshot { after: None, then },
            SyncCursor::Snapshot {
                after: Some(Uuid::now_v7()),
                then,
            },
            SyncCursor::Log(LogPosition { xact: 99, seq: 7 }),
        ] {
            assert_eq!(SyncCursor::decode(&cursor.encode()).unwrap(), cursor);
        }
        for garbage in [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("v1.l.-1.0"),
            &URL_SAFE_NO_PAD.encode("v2.l.1.0"),
            &URL_SAFE_NO_PAD.encode("v1.s.nope.1.0"),
            &URL_SAFE_NO_PAD.encode("v1.l.1.0.extra"),
        ] {
            assert!(SyncCursor::decode(garbage).is_err(), "{garbage}");
        }
    }
}
