//! String parameters: a folded starts-with by default, `:contains` anywhere, `:exact` equal and
//! case-sensitive, over each mapped column.

use super::SqlTranslator;
use super::condition::{misfit, never, or, unsupported_modifier};
use crate::Result;
use crate::search::{Modifier, SearchValue};
use crate::sql::mapping::StringColumn;
use crate::sql::{BindValue, SqlFragment};
use crate::sql::{LikePattern, fold};

impl SqlTranslator {
    /// Any value matching any column. A column with a pre-folded companion compares that with
    /// the value folded in Rust; one without is folded in SQL.
    pub(super) fn string_values(
        &self,
        columns: &[StringColumn],
        modifier: Option<&Modifier>,
        values: &[SearchValue],
        name: &str,
    ) -> Result<SqlFragment> {
        if !matches!(modifier, None | Some(Modifier::Contains | Modifier::Exact)) {
            return Err(unsupported_modifier(name));
        }
        let d = self.dialect;
        let mut alternatives = Vec::new();
        for value in values {
            let SearchValue::String(text) = value else {
                return Err(misfit(name));
            };
            if text.contains('\0') {
                alternatives.push(never());
                continue;
            }
            for column in columns {
                alternatives.push(match (modifier, &column.folded) {
                    (Some(Modifier::Exact), _) => {
                        d.exact_eq(&column.expr, BindValue::Text(text.clone()))
                    }
                    (m, folded) => {
                        let pattern = if m.is_some() {
                            LikePattern::Contains
                        } else {
                            LikePattern::StartsWith
                        };
                        match folded {
                            Some(folded) => d.like(folded, pattern, &fold(text), false),
                            None => d.like(&column.expr, pattern, text, true),
                        }
                    }
                });
            }
        }
        Ok(or(alternatives))
    }
}
