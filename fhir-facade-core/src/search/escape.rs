//! FHIR search escaping: `\,` `\|` `\$` and `\\` stand for the literal characters.
//!
//! In a search value `,` separates alternatives, `|` separates a token's system and code and `$`
//! separates composite components; a backslash before one of them (or before another backslash)
//! makes it literal. A backslash before any other character is an ordinary character.

/// The characters a backslash escapes.
const ESCAPABLE: [char; 4] = ['\\', ',', '|', '$'];

/// Splits `s` on every `sep` that is not escaped by a backslash.
///
/// The pieces are returned as written, still escaped, so that they can be split again on another
/// separator before [`unescape`] is applied. `split("a\\,b,c", ',')` is `["a\\,b", "c"]`, while in
/// `"a\\\\,b"` the backslash is itself escaped and the comma splits.
pub(crate) fn split(s: &str, sep: char) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            // An escape pair is consumed whole so that `\\` cannot escape the separator after it.
            if chars
                .peek()
                .is_some_and(|&(_, next)| ESCAPABLE.contains(&next))
            {
                chars.next();
            }
        } else if c == sep {
            pieces.push(&s[piece_start..i]);
            piece_start = i + c.len_utf8();
        }
    }
    pieces.push(&s[piece_start..]);
    pieces
}

/// Replaces `\,` `\|` `\$` and `\\` by the character escaped; any other backslash stays as is.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek().filter(|next| ESCAPABLE.contains(next)) {
                out.push(next);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Escapes `\` `,` `|` and `$` so that `s` reads back as one literal piece.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if ESCAPABLE.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split_respects_escapes() {
        assert_eq!(split("a\\,b,c", ','), ["a\\,b", "c"]);
        assert_eq!(split("a\\\\,b", ','), ["a\\\\", "b"]);
        assert_eq!(split("a,,b", ','), ["a", "", "b"]);
        assert_eq!(split("", ','), [""]);
        assert_eq!(split("a\\", ','), ["a\\"]);
        assert_eq!(split("sys|co\\|de", '|'), ["sys", "co\\|de"]);
        assert_eq!(split("é,ü", ','), ["é", "ü"]);
    }

    #[test]
    fn split_does_not_treat_other_backslashes_as_escapes() {
        assert_eq!(split("a\\:b", ':'), ["a\\", "b"]);
    }

    #[test]
    fn unescape_known_and_unknown_escapes() {
        assert_eq!(unescape("a\\,b\\|c\\$d\\\\e"), "a,b|c$d\\e");
        assert_eq!(unescape("a\\nb\\"), "a\\nb\\");
        assert_eq!(unescape("\\\\,"), "\\,");
    }

    #[test]
    fn escape_examples() {
        assert_eq!(escape("a,b|c$d\\e"), "a\\,b\\|c\\$d\\\\e");
        assert_eq!(escape("plain"), "plain");
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in any::<String>()) {
            prop_assert_eq!(unescape(&escape(&s)), s.clone());
            prop_assert_eq!(split(&escape(&s), ',').len(), 1);
            prop_assert_eq!(split(&escape(&s), '|').len(), 1);
        }

        #[test]
        fn split_pieces_rejoin(s in any::<String>()) {
            prop_assert_eq!(split(&s, ',').join(","), s);
        }
    }
}
