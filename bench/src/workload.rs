//! The workloads, and the request lists drawn for them from the CDM with a fixed seed.

use fhir_facade_core::sql::SqlFragment;
use fhir_facade_sqlx::Database;

/// One workload of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// `Patient/{id}`.
    W1,
    /// `Observation?patient={id}&code=http://loinc.org|8302-2&_count=20`.
    W2,
    /// W2 with `_include=Observation:patient`.
    W3,
    /// `Observation?patient={id}&_count=100`.
    W4,
    /// `Patient?birthdate=ge1970&gender=female&_count=100`.
    W5,
    /// Every page of one patient's Observations, following the `next` links.
    W6,
}

impl Workload {
    pub(crate) const ALL: [Workload; 6] = [
        Workload::W1,
        Workload::W2,
        Workload::W3,
        Workload::W4,
        Workload::W5,
        Workload::W6,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::W1 => "W1",
            Workload::W2 => "W2",
            Workload::W3 => "W3",
            Workload::W4 => "W4",
            Workload::W5 => "W5",
            Workload::W6 => "W6",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// What one request of the workload is, for the report.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Workload::W1 => "`GET Patient/{id}`",
            Workload::W2 => "`Observation?patient={id}&code=http://loinc.org|8302-2&_count=20`",
            Workload::W3 => "W2 + `_include=Observation:patient`",
            Workload::W4 => "`Observation?patient={id}&_count=100`",
            Workload::W5 => "`Patient?birthdate=ge1970&gender=female&_count=100`",
            Workload::W6 => "all pages of `Observation?patient={id}&_count=50` (one walk)",
        }
    }

    /// The first request of the workload for one person, relative to the FHIR base.
    pub(crate) fn first_path(self, person: i64) -> String {
        match self {
            Workload::W1 => format!("Patient/{person}"),
            Workload::W2 => {
                format!("Observation?patient={person}&code=http://loinc.org%7C8302-2&_count=20")
            }
            Workload::W3 => format!(
                "Observation?patient={person}&code=http://loinc.org%7C8302-2&_count=20\
                 &_include=Observation:patient"
            ),
            Workload::W4 => format!("Observation?patient={person}&_count=100"),
            Workload::W5 => "Patient?birthdate=ge1970&gender=female&_count=100".to_owned(),
            Workload::W6 => format!("Observation?patient={person}&_count=50"),
        }
    }
}

/// One unit of work: the HTTP requests a client sends in sequence (one, or a paging walk's
/// pages), and the SQL statements the facade ran for them.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// Paths relative to the FHIR base, percent-encoded as they go on the wire.
    pub(crate) paths: Vec<String>,
    /// The facade's statements for all of `paths`, in order.
    pub(crate) statements: Vec<SqlFragment>,
    /// The Bundle entries (or the one resource) the facade answered with, over all of `paths`.
    pub(crate) entries: usize,
}

/// A small, seeded generator (splitmix64): the same seed draws the same request list on every
/// machine, without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n > 0`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        // The modulo bias over 2^64 is far below what a benchmark can see.
        (self.next_u64() % n as u64) as usize
    }
}

/// Every person id of the CDM, ascending.
pub(crate) async fn person_ids(db: &Database) -> Result<Vec<i64>, String> {
    let rows = db
        .fetch_all(
            &SqlFragment::sql("SELECT person_id FROM person ORDER BY person_id"),
            None,
        )
        .await
        .map_err(|e| format!("reading person ids: {e}"))?;
    rows.iter()
        .map(|r| r.get_i64_at(0).map_err(|e| e.to_string()))
        .collect()
}

/// `n` persons drawn uniformly (with repetition) from `ids`.
pub(crate) fn draw(ids: &[i64], n: usize, rng: &mut Rng) -> Vec<i64> {
    (0..n).map(|_| ids[rng.below(ids.len())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_list() {
        let ids: Vec<i64> = (1..=1130).collect();
        let a = draw(&ids, 50, &mut Rng::new(7));
        assert_eq!(a, draw(&ids, 50, &mut Rng::new(7)));
        assert_ne!(a, draw(&ids, 50, &mut Rng::new(8)));
        assert!(a.iter().all(|id| ids.contains(id)));
        // Not one value repeated: the draw spreads over the ids.
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(distinct.len() > 40, "{}", distinct.len());
    }

    #[test]
    fn workload_names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
        assert_eq!(Workload::parse("W7"), None);
    }
}
