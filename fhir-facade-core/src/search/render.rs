//! From a [`SearchQuery`] back to a query string, for `self` and paging links.
//!
//! The output is canonical: criteria in the order they were written, then the result parameters in
//! a fixed order. Ignored parameters and the request's constraints are never rendered, so a link
//! carries exactly what the server understood from the client.

use super::escape;
use super::{Criterion, Include, PageToken, SearchQuery, SearchValue, Summary, TotalMode};

impl SearchQuery {
    /// The query as `(name, value)` pairs, before URL encoding.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self.criteria.iter().map(criterion_pair).collect();
        let result = &self.result;
        if !result.sort.is_empty() {
            let keys: Vec<String> = result
                .sort
                .iter()
                .map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.param.code))
                .collect();
            pairs.push(("_sort".to_owned(), keys.join(",")));
        }
        if let Some(count) = result.count {
            pairs.push(("_count".to_owned(), count.to_string()));
        }
        for (name, includes) in [
            ("_include", &result.include),
            ("_revinclude", &result.revinclude),
        ] {
            pairs.extend(includes.iter().map(|i| include_pair(name, i)));
        }
        if let Some(summary) = result.summary {
            pairs.push(("_summary".to_owned(), summary.code().to_owned()));
        }
        if !result.elements.is_empty() {
            pairs.push(("_elements".to_owned(), result.elements.join(",")));
        }
        if let Some(total) = result.total {
            pairs.push(("_total".to_owned(), total.code().to_owned()));
        }
        match &result.page {
            Some(PageToken::Offset(offset)) => {
                pairs.push(("_offset".to_owned(), offset.to_string()))
            }
            Some(PageToken::Cursor(cursor)) => pairs.push(("_cursor".to_owned(), cursor.clone())),
            Some(PageToken::Before(cursor)) => pairs.push(("_before".to_owned(), cursor.clone())),
            None => {}
        }
        pairs
    }

    /// The query as an `application/x-www-form-urlencoded` string (no leading `?`).
    pub fn to_query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.to_pairs())
            .finish()
    }
}

fn criterion_pair(criterion: &Criterion) -> (String, String) {
    match criterion {
        Criterion::Values {
            param,
            modifier,
            values,
        } => {
            let name = match modifier {
                Some(m) => format!("{}:{}", param.code, m.code()),
                None => param.code.to_owned(),
            };
            let values: Vec<String> = values.iter().map(render_value).collect();
            (name, values.join(","))
        }
        Criterion::Missing { param, missing } => {
            (format!("{}:missing", param.code), missing.to_string())
        }
        Criterion::Chain {
            param,
            target_type,
            inner,
        } => {
            let (inner_name, value) = criterion_pair(inner);
            (format!("{}:{target_type}.{inner_name}", param.code), value)
        }
        Criterion::Has {
            source_type,
            param,
            inner,
        } => {
            let (inner_name, value) = criterion_pair(inner);
            (
                format!("_has:{source_type}:{}:{inner_name}", param.code),
                value,
            )
        }
    }
}

fn render_value(value: &SearchValue) -> String {
    match value {
        SearchValue::String(s) => escape::escape(s),
        SearchValue::Token(t) => t.to_string(),
        SearchValue::OfType {
            system,
            code,
            value,
        } => format!(
            "{}|{}|{}",
            escape::escape(system),
            escape::escape(code),
            escape::escape(value)
        ),
        SearchValue::Date(d) => d.to_string(),
        SearchValue::Number(n) => n.to_string(),
        SearchValue::Quantity(q) => q.to_string(),
        SearchValue::Reference(r) => r.to_string(),
        SearchValue::Composite(parts) => {
            let parts: Vec<String> = parts.iter().map(render_value).collect();
            parts.join("$")
        }
    }
}

/// `(_include[:iterate], Source:param[:Target])`.
pub(crate) fn include_pair(name: &str, include: &Include) -> (String, String) {
    let name = if include.iterate {
        format!("{name}:iterate")
    } else {
        name.to_owned()
    };
    let mut value = format!("{}:{}", include.source_type, include.param.code);
    if let Some(target) = &include.target_type {
        value.push(':');
        value.push_str(target);
    }
    (name, value)
}

impl Summary {
    /// The value as written in `_summary`.
    pub fn code(self) -> &'static str {
        match self {
            Summary::True => "true",
            Summary::Text => "text",
            Summary::Data => "data",
            Summary::Count => "count",
            Summary::False => "false",
        }
    }
}

impl TotalMode {
    /// The value as written in `_total`.
    pub fn code(self) -> &'static str {
        match self {
            TotalMode::None => "none",
            TotalMode::Estimate => "estimate",
            TotalMode::Accurate => "accurate",
        }
    }
}
