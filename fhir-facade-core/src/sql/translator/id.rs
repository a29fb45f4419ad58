//! `_id`: the table's key, compared after [`IdKind::key`](crate::sql::mapping::IdKind::key)
//! turned each FHIR id into a key (an id that cannot be one matches nothing).

use super::condition::{misfit, negate, never, unsupported_modifier};
use crate::Result;
use crate::search::{Modifier, SearchValue, TokenSystem, TokenValue};
use crate::sql::SqlFragment;
use crate::sql::mapping::TableMapping;

/// `_id=a,b` as `id IN (…)`, and `_id:not` its negation.
pub(super) fn values(
    table: &TableMapping,
    modifier: Option<&Modifier>,
    values: &[SearchValue],
    name: &str,
) -> Result<SqlFragment> {
    if !matches!(modifier, None | Some(Modifier::Not)) {
        return Err(unsupported_modifier(name));
    }
    let mut keys = Vec::new();
    for value in values {
        let SearchValue::Token(TokenValue {
            system: TokenSystem::Any,
            code: Some(id),
        }) = value
        else {
            return Err(misfit(name));
        };
        keys.extend(table.id_kind.key(id));
    }
    let matched = if keys.is_empty() {
        never()
    } else {
        let mut list = SqlFragment::sql(format!("{} IN (", table.id_expr));
        for (i, key) in keys.into_iter().enumerate() {
            if i > 0 {
                list.push(", ");
            }
            list.push_bind(key);
        }
        list.push(")");
        list
    };
    Ok(if modifier.is_some() {
        negate(matched)
    } else {
        matched
    })
}
