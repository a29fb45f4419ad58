//! The SQL fragment types plans are made of.
//!
//! Values never become SQL text: a [`SqlFragment`] keeps SQL and bound values apart, and the
//! placeholders (`$1`, `?`, `@P1`) are only numbered when a dialect renders the finished statement.

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BindValue {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An exact decimal.
    Decimal(Decimal),
    /// Text.
    Text(String),
    /// An instant, in UTC.
    Timestamp(OffsetDateTime),
    /// A calendar date.
    Date(Date),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Sql(String),
    Bind(BindValue),
}

/// A piece of SQL with its bound values kept apart from the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlFragment {
    parts: Vec<Part>,
}

impl SqlFragment {
    /// An empty fragment.
    pub fn new() -> Self {
        SqlFragment::default()
    }

    /// A fragment of SQL text only. The text must come from the mapping, never from the request.
    pub fn sql(text: impl Into<String>) -> Self {
        let mut fragment = SqlFragment::new();
        fragment.push(text);
        fragment
    }

    /// Appends SQL text. The text must come from the mapping, never from the request.
    pub fn push(&mut self, text: impl Into<String>) -> &mut Self {
        let text = text.into();
        if let Some(Part::Sql(last)) = self.parts.last_mut() {
            last.push_str(&text);
        } else if !text.is_empty() {
            self.parts.push(Part::Sql(text));
        }
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn push_bind(&mut self, value: BindValue) -> &mut Self {
        self.parts.push(Part::Bind(value));
        self
    }

    /// Appends another fragment.
    pub fn append(&mut self, other: SqlFragment) -> &mut Self {
        for part in other.parts {
            match part {
                Part::Sql(text) => {
                    self.push(text);
                }
                Part::Bind(value) => {
                    self.push_bind(value);
                }
            }
        }
        self
    }

    /// Whether the fragment holds nothing.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The bound values, in order.
    pub fn binds(&self) -> impl Iterator<Item = &BindValue> {
        self.parts.iter().filter_map(|p| match p {
            Part::Bind(v) => Some(v),
            Part::Sql(_) => None,
        })
    }

    /// The statement text with placeholders numbered from 1 by `placeholder`, and the values.
    pub fn render(&self, mut placeholder: impl FnMut(usize) -> String) -> (String, Vec<BindValue>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        for part in &self.parts {
            match part {
                Part::Sql(text) => sql.push_str(text),
                Part::Bind(value) => {
                    binds.push(value.clone());
                    sql.push_str(&placeholder(binds.len()));
                }
            }
        }
        (sql, binds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_when_rendered() {
        let mut a = SqlFragment::sql("a = ");
        a.push_bind(BindValue::Int(1));
        let mut b = SqlFragment::sql(" AND b = ");
        b.push_bind(BindValue::Text("x'; DROP TABLE t; --".into()));
        a.append(b);
        assert_eq!(a.render(|n| format!("${n}")).0, "a = $1 AND b = $2");
        assert_eq!(a.render(|n| format!("@P{n}")).0, "a = @P1 AND b = @P2");
        let (sql, binds) = a.render(|_| "?".to_owned());
        assert_eq!(sql, "a = ? AND b = ?");
        assert_eq!(binds.len(), 2);
        assert!(!sql.contains("DROP"));
    }
}
