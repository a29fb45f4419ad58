//! The answer key of the check: which patients' compartments hold each resource of the data set,
//! written down by whoever wrote the data set (by hand, or by a query over the legacy tables),
//! never derived from the facade's own compartment rules. A bug in those rules then shows as a
//! leak instead of agreeing with itself.

use std::collections::{BTreeMap, BTreeSet};

/// For every resource (type and id), the ids of the patients whose compartment it is in; empty for
/// a resource in nobody's compartment (a practitioner, an observation without a subject).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners(BTreeMap<(String, String), BTreeSet<String>>);

impl Owners {
    /// An empty key.
    pub fn new() -> Self {
        Owners::default()
    }

    /// Adds `resource_type/id`, in the compartments of `patients` (none: in nobody's), to those
    /// already known for it.
    pub fn insert<P: Into<String>>(
        &mut self,
        resource_type: &str,
        id: &str,
        patients: impl IntoIterator<Item = P>,
    ) {
        self.0
            .entry((resource_type.to_owned(), id.to_owned()))
            .or_default()
            .extend(patients.into_iter().map(Into::into));
    }

    /// Whether the key knows `resource_type/id` at all.
    pub fn knows(&self, resource_type: &str, id: &str) -> bool {
        self.0
            .contains_key(&(resource_type.to_owned(), id.to_owned()))
    }

    /// Whether `resource_type/id` is in `patient`'s compartment; false for a resource the key
    /// does not know, so a resource nobody wrote down can never pass as confined.
    pub fn owns(&self, patient: &str, resource_type: &str, id: &str) -> bool {
        self.0
            .get(&(resource_type.to_owned(), id.to_owned()))
            .is_some_and(|patients| patients.contains(patient))
    }

    /// How many resources are in `patient`'s compartment.
    pub fn owned_by(&self, patient: &str) -> usize {
        self.0.values().filter(|p| p.contains(patient)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_belongs_to_the_patients_written_down_for_it_only() {
        let mut key = Owners::new();
        key.insert("Condition", "3", ["2", "1"]);
        key.insert("Practitioner", "1", None::<&str>);
        assert!(key.owns("1", "Condition", "3"));
        assert!(key.owns("2", "Condition", "3"));
        assert!(!key.owns("3", "Condition", "3"));
        assert!(key.knows("Practitioner", "1"));
        assert!(!key.owns("1", "Practitioner", "1"));
        assert!(!key.knows("Observation", "3"));
        assert!(!key.owns("1", "Observation", "3"));
        assert_eq!(key.owned_by("1"), 1);
        assert_eq!(key.owned_by("3"), 0);
    }
}
