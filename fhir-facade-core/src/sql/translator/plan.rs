//! [`SqlPlan`]: the statements of one search, and the paging links its rows give.

use crate::search::PageToken;
use crate::sql::SqlFragment;

/// The statements of one search.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlPlan {
    /// The page's rows: the mapping's columns, ordered, at most `limit + 1` rows (the extra row
    /// only tells that there is a next page and is not returned). `None` when only the count is
    /// asked for (`_count=0`, `_summary=count`).
    pub select: Option<SqlFragment>,
    /// `SELECT COUNT(*)` of all matches, when `_total=accurate` or `_summary=count`.
    pub count: Option<SqlFragment>,
    /// The page size.
    pub limit: u64,
    /// The rows skipped before the page.
    pub offset: u64,
    /// Whether the next page continues after the last id (a keyset cursor) rather than at an
    /// offset; true when the search is ordered by id only.
    pub keyset: bool,
    /// Whether the page was asked for by a keyset cursor (`_cursor` or `_before`), so that a
    /// page before it exists.
    pub after_cursor: bool,
    /// Whether `select` reads backwards from a `_before` cursor: its rows come in reverse
    /// order, and the extra row tells that a page before this one exists.
    pub backward: bool,
}

impl SqlPlan {
    /// How many of the `fetched` rows of `select` belong to the page (the extra one only tells
    /// that more rows follow in the direction read).
    pub fn kept(&self, fetched: usize) -> usize {
        fetched.min(usize::try_from(self.limit).unwrap_or(usize::MAX))
    }

    /// The `next` and `previous` tokens of the page, given how many rows `select` returned
    /// and the FHIR ids of the first and last resources of the page in search order (after
    /// [`backward`](Self::backward) rows are put back in order).
    pub fn links(
        &self,
        fetched: usize,
        first_id: Option<&str>,
        last_id: Option<&str>,
    ) -> (Option<PageToken>, Option<PageToken>) {
        let more = fetched as u64 > self.limit;
        if !self.keyset {
            let next = more.then_some(PageToken::Offset(self.offset + self.limit));
            let previous = (self.offset > 0)
                .then(|| PageToken::Offset(self.offset.saturating_sub(self.limit)));
            return (next, previous);
        }
        let cursor =
            |id: Option<&str>, token: fn(String) -> PageToken| id.map(|i| token(i.to_owned()));
        if self.backward {
            // A page read backwards was reached from the page after it.
            let previous = if more {
                cursor(first_id, PageToken::Before)
            } else {
                None
            };
            (cursor(last_id, PageToken::Cursor), previous)
        } else {
            let next = if more {
                cursor(last_id, PageToken::Cursor)
            } else {
                None
            };
            let previous = if self.after_cursor {
                cursor(first_id, PageToken::Before)
            } else {
                None
            };
            (next, previous)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_tokens() {
        let cursor = |id: &str| Some(PageToken::Cursor(id.into()));
        let before = |id: &str| Some(PageToken::Before(id.into()));
        let plan = SqlPlan {
            select: None,
            count: None,
            limit: 2,
            offset: 4,
            keyset: false,
            after_cursor: false,
            backward: false,
        };
        let (a, b) = (Some("a"), Some("b"));
        assert_eq!(plan.links(2, a, b), (None, Some(PageToken::Offset(2))));
        assert_eq!(
            plan.links(3, a, b),
            (Some(PageToken::Offset(6)), Some(PageToken::Offset(2)))
        );
        let first = SqlPlan {
            keyset: true,
            offset: 0,
            ..plan
        };
        assert_eq!(first.links(3, a, b), (cursor("b"), None));
        assert_eq!(first.links(2, a, b), (None, None));
        let later = SqlPlan {
            after_cursor: true,
            ..first.clone()
        };
        assert_eq!(later.links(3, a, b), (cursor("b"), before("a")));
        assert_eq!(later.links(1, a, a), (None, before("a")));
        let back = SqlPlan {
            backward: true,
            ..later
        };
        assert_eq!(back.links(3, a, b), (cursor("b"), before("a")));
        assert_eq!(back.links(2, a, b), (cursor("b"), None));
        assert_eq!(back.kept(3), 2);
    }
}
