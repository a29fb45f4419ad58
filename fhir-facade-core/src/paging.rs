//! Page sizes and keyset cursors.
//!
//! # The paging contract
//!
//! A search answers one page and links (`next`, `previous`) to its neighbours. Clients only follow
//! those links; the page tokens in them are opaque and not meant to be built by hand.
//!
//! - **Keyset paging (`_cursor`)** is used where the provider can order by a unique key (the
//!   `_sort` keys with the id as the tie-breaker). The next page starts strictly after the
//!   [`Cursor`] of the last row served, so it stays correct when rows are added or removed
//!   between page requests: no row is skipped or served twice because of them. The `previous`
//!   link (`_before`) names the first row served; that page is read backwards from it.
//! - **Offset paging (`_offset`)** is the fallback where no such order exists. Rows added or
//!   removed before the current position shift later pages: a client may then see a row twice or
//!   miss one.
//!
//! The page size is `_count`, clamped by [`PageSize`].

use crate::search::PageToken;
use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Page size configuration: the size used without `_count`, and the largest size served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    default: u32,
    max: u32,
}

impl PageSize {
    /// A configuration with `default ≤ max` and `max ≥ 1`; anything else is a configuration bug,
    /// reported as [`Error::Config`].
    pub fn new(default: u32, max: u32) -> Result<Self> {
        if max == 0 {
            return Err(Error::Config(
                "page size maximum must be at least 1".to_owned(),
            ));
        }
        if default > max {
            return Err(Error::Config(format!(
                "default page size {default} exceeds the maximum {max}"
            )));
        }
        Ok(PageSize { default, max })
    }

    /// The size used when the client gives no `_count`.
    pub fn default_size(&self) -> u32 {
        self.default
    }

    /// The largest page served.
    pub fn max_size(&self) -> u32 {
        self.max
    }

    /// The page size to serve for a requested `_count`: clamped to the maximum, the default when
    /// none was asked for. `0` stays `0`: the client wants only the total.
    pub fn effective(&self, requested: Option<u32>) -> u32 {
        requested.map_or(self.default, |n| n.min(self.max))
    }
}

impl Default for PageSize {
    /// 20 per page, at most 100.
    fn default() -> Self {
        PageSize {
            default: 20,
            max: 100,
        }
    }
}

/// A keyset position: the sort-key values of the last row on a page, with its id as the last
/// element, so that the tuple is unique and the next page can start strictly after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The sort-key values, then the id.
    pub values: Vec<Value>,
}

impl Cursor {
    /// The longest encoded cursor accepted; longer ones are rejected before decoding so that a
    /// client cannot make the server parse arbitrarily large tokens.
    pub const MAX_ENCODED_LEN: usize = 4096;

    /// A cursor from the sort-key values and the id.
    pub fn new(values: Vec<Value>) -> Self {
        Cursor { values }
    }

    /// The cursor as a URL-safe token: unpadded base64url of the compact JSON array, so it only
    /// contains `[A-Za-z0-9_-]` and needs no escaping in a query string.
    pub fn encode(&self) -> String {
        let json = Value::Array(self.values.clone()).to_string();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a token made by [`encode`](Self::encode).
    ///
    /// Anything else (too long, not base64url, not a non-empty JSON array) is an
    /// [`Error::InvalidSearch`] on `_cursor` (400).
    pub fn decode(token: &str) -> Result<Cursor> {
        if token.len() > Self::MAX_ENCODED_LEN {
            return Err(malformed("the cursor is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| malformed("the cursor is not base64url"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(values)) if !values.is_empty() => Ok(Cursor { values }),
            _ => Err(malformed("the cursor does not hold a key tuple")),
        }
    }

    /// The page token for links that continue after this cursor.
    pub fn to_page_token(&self) -> PageToken {
        PageToken::Cursor(self.encode())
    }
}

fn malformed(message: &str) -> Error {
    Error::invalid_search("_cursor", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Found by `scripts/fuzz cursor`: without serde_json's exact float parsing, the decimal read
    /// from this cursor wrote back as a different number, so the next page would have started
    /// from a value no row had.
    #[test]
    fn a_decimal_sort_value_comes_back_exactly() {
        let token = "WzQuMzA2MzFFODAsOF0"; // [4.30631E80,8]
        let cursor = Cursor::decode(token).unwrap();
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn page_size_defaults_and_validation() {
        let size = PageSize::default();
        assert_eq!((size.default_size(), size.max_size()), (20, 100));
        assert_eq!(PageSize::new(10, 50).unwrap().default_size(), 10);
        assert_eq!(PageSize::new(0, 1).unwrap().default_size(), 0);
        assert!(PageSize::new(51, 50).is_err());
        assert!(PageSize::new(0, 0).is_err());
    }

    #[test]
    fn effective_clamps_and_keeps_zero() {
        let size = PageSize::new(20, 100).unwrap();
        assert_eq!(size.effective(None), 20);
        assert_eq!(size.effective(Some(5)), 5);
        assert_eq!(size.effective(Some(100)), 100);
        assert_eq!(size.effective(Some(1000)), 100);
        assert_eq!(size.effective(Some(0)), 0);
    }

    #[test]
    fn cursor_round_trip_and_alphabet() {
        let cursor = Cursor::new(vec![
            json!("2020-01-01"),
            json!(null),
            json!(3.5),
            json!("p/1"),
        ]);
        let token = cursor.encode();
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{token}"
        );
        assert_eq!(Cursor::decode(&token).unwrap(), cursor);
        assert_eq!(cursor.to_page_token(), PageToken::Cursor(token));
    }

    #[test]
    fn malformed_cursors_are_invalid_search() {
        let too_long = "A".repeat(Cursor::MAX_ENCODED_LEN + 1);
        let not_array = URL_SAFE_NO_PAD.encode(r#"{"a":1}"#);
        let empty = URL_SAFE_NO_PAD.encode("[]");
        for bad in ["", "!!!", "abc=", too_long.as_str(), &not_array, &empty] {
            match Cursor::decode(bad) {
                Err(Error::InvalidSearch { param, .. }) => assert_eq!(param, "_cursor"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert_eq!(Cursor::decode("!!!").unwrap_err().status(), 400);
    }

    fn key_value() -> impl Strategy<Value = Value> {
        // Floats are left out: serde_json without `float_roundtrip` may change their last bit,
        // and sort keys from SQL are texts, integers, dates (as text) or null in practice.
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(values in prop::collection::vec(key_value(), 1..6)) {
            let cursor = Cursor::new(values);
            prop_assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }

        #[test]
        fn decode_never_panics(token in ".{0,200}") {
            let _ = Cursor::decode(&token);
        }

        #[test]
        fn decode_never_panics_on_base64url(token in "[A-Za-z0-9_-]{0,200}") {
            let _ = Cursor::decode(&token);
        }
    }
}
