//! A `_cursor` paging token, as a client may send it back altered.
#![no_main]

use fhir_facade_core::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    match Cursor::decode(&token) {
        // What decodes encodes back to a token that decodes to the same cursor.
        Ok(cursor) => assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor)),
        Err(error) => assert_eq!(error.status(), 400),
    }
});
