//! Text folding and LIKE escaping done in Rust, mirroring what [`Dialect`](super::Dialect)s do in
//! SQL.

/// Every character a folded comparison treats as another character, and what it becomes.
///
/// This table is the single source for both [`fold`] (applied to the search value in Rust) and
/// [`Dialect::fold_expr`](super::Dialect::fold_expr) (applied to the column in SQL), so the two
/// sides cannot drift apart. It covers ASCII upper case and the letters of Latin-1 plus `Œ œ Ÿ ẞ`,
/// which is enough for Western European names (`Müller`, `Straße`, `José`, `Ørsted`).
///
/// Characters not listed stay as they are on both sides. In particular the database's own
/// `LOWER()` is never used: it folds Greek or Cyrillic on PostgreSQL, MySQL and SQL Server but not
/// on SQLite, and a value like `Д` must match itself on every dialect.
///
/// Every replacement is lower-case ASCII, so folding is idempotent and the order in which the
/// entries are applied does not matter.
pub const FOLD_MAP: &[(char, &str)] = &[
    ('A', "a"),
    ('B', "b"),
    ('C', "c"),
    ('D', "d"),
    ('E', "e"),
    ('F', "f"),
    ('G', "g"),
    ('H', "h"),
    ('I', "i"),
    ('J', "j"),
    ('K', "k"),
    ('L', "l"),
    ('M', "m"),
    ('N', "n"),
    ('O', "o"),
    ('P', "p"),
    ('Q', "q"),
    ('R', "r"),
    ('S', "s"),
    ('T', "t"),
    ('U', "u"),
    ('V', "v"),
    ('W', "w"),
    ('X', "x"),
    ('Y', "y"),
    ('Z', "z"),
    ('À', "a"),
    ('Á', "a"),
    ('Â', "a"),
    ('Ã', "a"),
    ('Ä', "a"),
    ('Å', "a"),
    ('à', "a"),
    ('á', "a"),
    ('â', "a"),
    ('ã', "a"),
    ('ä', "a"),
    ('å', "a"),
    ('Æ', "ae"),
    ('æ', "ae"),
    ('Ç', "c"),
    ('ç', "c"),
    ('È', "e"),
    ('É', "e"),
    ('Ê', "e"),
    ('Ë', "e"),
    ('è', "e"),
    ('é', "e"),
    ('ê', "e"),
    ('ë', "e"),
    ('Ì', "i"),
    ('Í', "i"),
    ('Î', "i"),
    ('Ï', "i"),
    ('ì', "i"),
    ('í', "i"),
    ('î', "i"),
    ('ï', "i"),
    ('Ñ', "n"),
    ('ñ', "n"),
    ('Ò', "o"),
    ('Ó', "o"),
    ('Ô', "o"),
    ('Õ', "o"),
    ('Ö', "o"),
    ('Ø', "o"),
    ('ò', "o"),
    ('ó', "o"),
    ('ô', "o"),
    ('õ', "o"),
    ('ö', "o"),
    ('ø', "o"),
    ('Œ', "oe"),
    ('œ', "oe"),
    ('Ù', "u"),
    ('Ú', "u"),
    ('Û', "u"),
    ('Ü', "u"),
    ('ù', "u"),
    ('ú', "u"),
    ('û', "u"),
    ('ü', "u"),
    ('Ý', "y"),
    ('Ÿ', "y"),
    ('ý', "y"),
    ('ÿ', "y"),
    ('ẞ', "ss"),
    ('ß', "ss"),
];

/// Folds text for case- and accent-insensitive comparison, exactly as
/// [`Dialect::fold_expr`](super::Dialect::fold_expr) folds a column: each character listed in
/// [`FOLD_MAP`] is replaced, every other character is kept.
///
/// ```
/// use fhir_facade_core::sql::fold;
///
/// assert_eq!(fold("MÜLLER"), "muller");
/// assert_eq!(fold("Straße"), "strasse");
/// ```
pub fn fold(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    for c in s.chars() {
        match FOLD_MAP.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => folded.push_str(to),
            None => folded.push(c),
        }
    }
    folded
}

/// Escapes a value for use inside a `LIKE` pattern with `ESCAPE '\'`: `\`, `%` and `_` are
/// prefixed with `\`, so the value only ever matches itself.
///
/// SQL Server also treats `[` as special; [`Dialect::escape_like_value`](super::Dialect::escape_like_value)
/// knows that, so prefer it when a dialect is at hand.
///
/// ```
/// assert_eq!(fhir_facade_core::sql::escape_like(r"50%_a\b"), r"50\%\_a\\b");
/// ```
pub fn escape_like(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_names() {
        assert_eq!(fold("MÜLLER"), "muller");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("STRAẞE"), "strasse");
        assert_eq!(fold("José"), "jose");
        assert_eq!(fold("Ærøskøbing"), "aeroskobing");
        assert_eq!(fold("Œuvre Ibáñez Çelik"), "oeuvre ibanez celik");
    }

    #[test]
    fn keeps_what_is_not_in_the_table() {
        assert_eq!(fold("Дмитрий 12-ab"), "Дмитрий 12-ab");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn every_ascii_capital_and_nothing_else_ascii_is_mapped() {
        for c in '\0'..='\x7f' {
            let expected = c.to_ascii_lowercase().to_string();
            assert_eq!(fold(&c.to_string()), expected, "{c:?}");
        }
    }

    #[test]
    fn table_is_well_formed() {
        for (i, (from, to)) in FOLD_MAP.iter().enumerate() {
            assert!(
                !to.is_empty() && to.chars().all(|c| c.is_ascii_lowercase()),
                "{from:?} folds to {to:?}"
            );
            assert!(
                FOLD_MAP[..i].iter().all(|(other, _)| other != from),
                "{from:?} listed twice"
            );
            // SQL literals are built from the table without escaping.
            assert_ne!(*from, '\'');
        }
    }

    #[test]
    fn folding_is_idempotent() {
        for (from, _) in FOLD_MAP {
            let once = fold(&from.to_string());
            assert_eq!(fold(&once), once);
        }
    }

    #[test]
    fn escapes_like_metacharacters() {
        assert_eq!(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(escape_like("[x]'"), "[x]'");
        assert_eq!(escape_like("plain"), "plain");
    }
}
