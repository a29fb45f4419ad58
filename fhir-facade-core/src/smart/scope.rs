//! SMART on FHIR resource scopes, v1 (`patient/Observation.read`) and v2 (`patient/Observation.rs`,
//! `patient/Observation.rs?category=laboratory`).

use crate::provider::Interaction;

/// Whose data a scope reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeLevel {
    /// `patient/`: the patient in the token's launch context, and only that patient.
    Patient,
    /// `user/`: whatever the signed-in user may see.
    User,
    /// `system/`: a backend service, no user.
    System,
}

/// The SMART v2 permissions `c r u d s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// `c`: create.
    pub const CREATE: Permissions = Permissions(1);
    /// `r`: read and vread.
    pub const READ: Permissions = Permissions(2);
    /// `u`: update.
    pub const UPDATE: Permissions = Permissions(4);
    /// `d`: delete.
    pub const DELETE: Permissions = Permissions(8);
    /// `s`: search and history.
    pub const SEARCH: Permissions = Permissions(16);

    /// The union of two sets.
    #[must_use]
    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// Whether every permission of `other` is in `self`.
    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permission an interaction needs.
    pub fn needed_for(interaction: Interaction) -> Permissions {
        match interaction {
            Interaction::Read | Interaction::Vread => Permissions::READ,
            Interaction::Create => Permissions::CREATE,
            Interaction::Update => Permissions::UPDATE,
            Interaction::Delete => Permissions::DELETE,
            Interaction::SearchType | Interaction::HistoryInstance | Interaction::HistoryType => {
                Permissions::SEARCH
            }
        }
    }

    /// Reads the part after the dot: v1 `read`, `write`, `*`, or a v2 subset of `cruds` in that order.
    fn parse(text: &str) -> Option<Permissions> {
        let all = Permissions::CREATE
            .union(Permissions::READ)
            .union(Permissions::UPDATE)
            .union(Permissions::DELETE)
            .union(Permissions::SEARCH);
        match text {
            "read" => return Some(Permissions::READ.union(Permissions::SEARCH)),
            "write" => {
                return Some(
                    Permissions::CREATE
                        .union(Permissions::UPDATE)
                        .union(Permissions::DELETE),
                );
            }
            "*" => return Some(all),
            "" => return None,
            _ => {}
        }
        // v2 requires the letters in the order c, r, u, d, s, each at most once.
        let mut rest = text;
        let mut permissions = Permissions::default();
        for (letter, permission) in [
            ('c', Permissions::CREATE),
            ('r', Permissions::READ),
            ('u', Permissions::UPDATE),
            ('d', Permissions::DELETE),
            ('s', Permissions::SEARCH),
        ] {
            if let Some(after) = rest.strip_prefix(letter) {
                permissions = permissions.union(permission);
                rest = after;
            }
        }
        rest.is_empty().then_some(permissions)
    }
}

/// One resource scope from a token's `scope` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    /// `patient/`, `user/` or `system/`.
    pub level: ScopeLevel,
    /// The resource type, or `None` for `*`.
    pub resource_type: Option<String>,
    /// What the scope allows.
    pub permissions: Permissions,
    /// A SMART v2 query that narrows the scope (`category=...`), still URL-encoded.
    pub query: Option<String>,
}

impl ResourceScope {
    /// Parses one scope; `None` for scopes that are not resource scopes (`openid`, `fhirUser`,
    /// `launch/patient`, `offline_access`) and for malformed ones, which grant nothing.
    pub fn parse(scope: &str) -> Option<ResourceScope> {
        let (level, rest) = scope.split_once('/')?;
        let level = match level {
            "patient" => ScopeLevel::Patient,
            "user" => ScopeLevel::User,
            "system" => ScopeLevel::System,
            _ => return None,
        };
        let (target, query) = match rest.split_once('?') {
            Some((target, query)) if !query.is_empty() => (target, Some(query.to_owned())),
            Some(_) => return None,
            None => (rest, None),
        };
        let (resource_type, permissions) = target.split_once('.')?;
        let resource_type = match resource_type {
            "*" => None,
            t if crate::resource::is_resource_type(t) => Some(t.to_owned()),
            _ => return None,
        };
        Some(ResourceScope {
            level,
            resource_type,
            permissions: Permissions::parse(permissions)?,
            query,
        })
    }

    /// Whether this scope allows `interaction` on `resource_type`.
    pub fn allows(&self, resource_type: &str, interaction: Interaction) -> bool {
        self.resource_type
            .as_deref()
            .is_none_or(|t| t == resource_type)
            && self
                .permissions
                .contains(Permissions::needed_for(interaction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> ResourceScope {
        ResourceScope::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn v1_scopes() {
        let s = scope("patient/Observation.read");
        assert_eq!(s.level, ScopeLevel::Patient);
        assert!(s.allows("Observation", Interaction::Read));
        assert!(s.allows("Observation", Interaction::SearchType));
        assert!(!s.allows("Observation", Interaction::Create));
        assert!(!s.allows("Patient", Interaction::Read));
        let s = scope("user/*.write");
        assert!(s.allows("Patient", Interaction::Update));
        assert!(!s.allows("Patient", Interaction::Read));
        assert!(scope("system/*.*").allows("Condition", Interaction::Delete));
    }

    #[test]
    fn v2_scopes() {
        let s = scope("patient/Observation.r");
        assert!(s.allows("Observation", Interaction::Read));
        assert!(!s.allows("Observation", Interaction::SearchType));
        let s = scope("system/Observation.cruds");
        for i in Interaction::ALL {
            assert!(s.allows("Observation", i), "{i:?}");
        }
        let s = scope(
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        );
        assert!(s.query.as_deref().unwrap().starts_with("category="));
    }

    #[test]
    fn what_is_not_a_resource_scope_grants_nothing() {
        for text in [
            "openid",
            "fhirUser",
            "launch/patient",
            "offline_access",
            "patient/Observation",
            "patient/Observation.",
            "patient/Observation.sr",
            "patient/Observation.rr",
            "patient/Observation.x",
            "patient/observation.rs",
            "doctor/Observation.rs",
            "patient/Observation.rs?",
        ] {
            assert_eq!(ResourceScope::parse(text), None, "{text}");
        }
    }
}
