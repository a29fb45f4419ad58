//! A seeded generator of realistic KIS data, and loading it into any [`Backend`](crate::Backend).
//!
//! The same seed gives the same data on every database. Patients have German names with
//! umlauts and ß (and the same names without them: `Müller`, `Mueller`, `Muller`), titles,
//! full, month-only, year-only and unknown birth dates, statutory insurance numbers, phone
//! numbers and addresses; some are deceased, some soft-deleted. Each has one to four cases
//! (inpatient, ambulatory, emergency; some still admitted, some cancelled), diagnoses with every
//! certainty, and about a hundred lab results: decimal-comma values, values below or above the
//! measuring range (`<0,5`, `>200`), qualitative ones (`positiv`), every status including
//! cancelled, and one in-house code without a LOINC mapping.
//!
//! This module draws the rows; the names and places it draws from are in `names`, the lab codes
//! and their value distributions in `lab_codes`, and `insert` writes a data set as `INSERT`s.
//!
//! ```
//! use kis_facade::generate::Dataset;
//!
//! let data = Dataset::generate(5, 42);
//! assert_eq!(data.patients.len(), 5);
//! assert_eq!(data, Dataset::generate(5, 42));
//! assert!(data.labs.len() > 5 * 80);
//! ```

mod insert;
mod lab_codes;
mod names;
mod rng;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

pub use insert::{load, push_value};
pub use lab_codes::labcode_map;

use lab_codes::{LAB_CODES, lab_value};
use names::{CITIES, FAMILY, GIVEN_M, GIVEN_W, ICD, SPECIALTIES, STATIONS, STREETS, TITLES};
use rng::Rng;

/// A `patient` row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PatientRow {
    pub pat_id: i64,
    pub pat_nr: String,
    pub kvnr: Option<String>,
    pub nachname: String,
    pub vorname: String,
    pub titel: Option<String>,
    pub geb_datum: String,
    pub geschlecht: String,
    pub strasse: String,
    pub plz: String,
    pub ort: String,
    pub land: String,
    pub telefon: Option<String>,
    pub verstorben_am: Option<String>,
    pub geloescht: i64,
    pub aend_zaehler: i64,
    pub geaendert_am: OffsetDateTime,
}

/// A `fall` row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FallRow {
    pub fall_id: i64,
    pub fall_nr: String,
    pub pat_id: i64,
    pub fallart: String,
    pub aufnahme: OffsetDateTime,
    pub entlassung: Option<OffsetDateTime>,
    pub station: String,
    pub storniert: i64,
}

/// A `labor_befund` row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LabRow {
    pub befund_id: i64,
    pub pat_id: i64,
    pub fall_id: Option<i64>,
    pub labcode: String,
    pub wert: String,
    pub einheit: String,
    pub abnahme: OffsetDateTime,
    pub status: String,
    pub ref_bereich: Option<String>,
}

/// A `diagnose` row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DiagnoseRow {
    pub diag_id: i64,
    pub fall_id: i64,
    pub pat_id: i64,
    pub icd: String,
    pub icd_version: String,
    pub diag_art: String,
    pub diag_datum: String,
    pub sicherheit: String,
}

/// An `arzt` row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ArztRow {
    pub arzt_id: i64,
    pub lanr: String,
    pub nachname: String,
    pub vorname: String,
    pub fachrichtung: String,
}

/// A whole generated database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// `patient`
    pub patients: Vec<PatientRow>,
    /// `fall`
    pub cases: Vec<FallRow>,
    /// `labor_befund`
    pub labs: Vec<LabRow>,
    /// `diagnose`
    pub diagnoses: Vec<DiagnoseRow>,
    /// `arzt`
    pub physicians: Vec<ArztRow>,
}

/// The hospital patient number of the patient with key `pat_id` (ten digits), as the generator
/// and the facade's create both assign it.
pub fn pat_nr(pat_id: i64) -> String {
    format!("{pat_id:010}")
}

fn at(date: Date, rng: &mut Rng) -> OffsetDateTime {
    let time =
        Time::from_hms(rng.range(0, 23) as u8, rng.range(0, 59) as u8, 0).expect("valid time");
    PrimitiveDateTime::new(date, time).assume_utc()
}

fn day(rng: &mut Rng, from_year: i32, to_year: i32) -> Date {
    let start = Date::from_calendar_date(from_year, Month::January, 1).expect("valid date");
    let days = (Date::from_calendar_date(to_year, Month::December, 31).expect("valid date")
        - start)
        .whole_days();
    start + Duration::days(rng.range(0, days))
}

fn ymd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

impl Dataset {
    /// `patients` patients and everything that belongs to them, from `seed`.
    pub fn generate(patients: u32, seed: u64) -> Dataset {
        let mut rng = Rng(seed);
        let mut data = Dataset {
            patients: Vec::new(),
            cases: Vec::new(),
            labs: Vec::new(),
            diagnoses: Vec::new(),
            physicians: Vec::new(),
        };
        for arzt_id in 1..=20 {
            let female = rng.chance(50);
            data.physicians.push(ArztRow {
                arzt_id,
                lanr: format!("{:09}", rng.range(100_000_000, 999_999_999)),
                nachname: rng.pick(FAMILY).to_string(),
                vorname: rng.pick(if female { GIVEN_W } else { GIVEN_M }).to_string(),
                fachrichtung: rng.pick(SPECIALTIES).to_string(),
            });
        }
        for pat_id in 1..=i64::from(patients) {
            let sex = match rng.below(100) {
                0..48 => "M",
                48..96 => "W",
                96..98 => "D",
                _ => "U",
            };
            let birth = day(&mut rng, 1925, 2023);
            let geb_datum = match rng.below(100) {
                0..8 => format!("{:04}{:02}00", birth.year(), u8::from(birth.month())),
                8..12 => format!("{:04}0000", birth.year()),
                12..15 => "00000000".to_owned(),
                _ => ymd(birth),
            };
            let (plz, ort) = *rng.pick(CITIES);
            let deceased = rng.chance(3);
            let given = if sex == "W" || (sex != "M" && rng.chance(50)) {
                GIVEN_W
            } else {
                GIVEN_M
            };
            data.patients.push(PatientRow {
                pat_id,
                pat_nr: pat_nr(pat_id),
                kvnr: rng.chance(70).then(|| {
                    format!(
                        "{}{:09}",
                        char::from(b'A' + rng.below(26) as u8),
                        rng.below(1_000_000_000)
                    )
                }),
                nachname: rng.pick(FAMILY).to_string(),
                vorname: rng.pick(given).to_string(),
                titel: rng.chance(10).then(|| rng.pick(TITLES).to_string()),
                geb_datum,
                geschlecht: sex.to_owned(),
                strasse: format!("{} {}", rng.pick(STREETS), rng.range(1, 120)),
                plz: plz.to_owned(),
                ort: ort.to_owned(),
                land: "DE".to_owned(),
                telefon: rng
                    .chance(60)
                    .then(|| format!("0{} {}", rng.range(30, 999), rng.range(100_000, 9_999_999))),
                verstorben_am: deceased.then(|| ymd(day(&mut rng, 2020, 2024))),
                geloescht: i64::from(rng.chance(3)),
                aend_zaehler: rng.range(1, 5),
                geaendert_am: at(day(&mut rng, 2015, 2024), &mut rng),
            });
            let mut own_cases = Vec::new();
            for _ in 0..rng.range(1, 4) {
                let fall_id = data.cases.len() as i64 + 1;
                let fallart = *rng.pick(&["S", "S", "A", "N"]);
                let aufnahme = at(day(&mut rng, 2018, 2024), &mut rng);
                let stay = match fallart {
                    "S" => Duration::hours(rng.range(24, 24 * 21)),
                    _ => Duration::hours(rng.range(1, 8)),
                };
                let entlassung = (!(fallart == "S" && rng.chance(5))).then_some(aufnahme + stay);
                data.cases.push(FallRow {
                    fall_id,
                    fall_nr: format!("F{}{:07}", aufnahme.year(), fall_id),
                    pat_id,
                    fallart: fallart.to_owned(),
                    aufnahme,
                    entlassung,
                    station: rng.pick(STATIONS).to_string(),
                    storniert: i64::from(rng.chance(2)),
                });
                own_cases.push((fall_id, aufnahme));
                for n in 0..rng.range(1, 3) {
                    let diag_date = aufnahme.date();
                    data.diagnoses.push(DiagnoseRow {
                        diag_id: data.diagnoses.len() as i64 + 1,
                        fall_id,
                        pat_id,
                        icd: rng.pick(ICD).to_string(),
                        icd_version: "2024".to_owned(),
                        diag_art: if n == 0 { "H" } else { "N" }.to_owned(),
                        diag_datum: if rng.chance(5) {
                            format!(
                                "{:04}{:02}00",
                                diag_date.year(),
                                u8::from(diag_date.month())
                            )
                        } else {
                            ymd(diag_date)
                        },
                        sicherheit: match rng.below(100) {
                            0..80 => "G",
                            80..90 => "V",
                            90..95 => "A",
                            _ => "Z",
                        }
                        .to_owned(),
                    });
                }
            }
            for _ in 0..rng.range(80, 120) {
                let code = rng.pick(LAB_CODES);
                let case = (!rng.chance(10)).then(|| *rng.pick(&own_cases));
                let abnahme = match case {
                    Some((_, aufnahme)) => aufnahme + Duration::minutes(rng.range(0, 60 * 24 * 5)),
                    None => at(day(&mut rng, 2018, 2024), &mut rng),
                };
                data.labs.push(LabRow {
                    befund_id: data.labs.len() as i64 + 1,
                    pat_id,
                    fall_id: case.map(|c| c.0),
                    labcode: code.labcode.to_owned(),
                    wert: lab_value(&mut rng, code),
                    einheit: code.unit.to_owned(),
                    abnahme,
                    status: match rng.below(100) {
                        0..85 => "E",
                        85..93 => "V",
                        93..97 => "K",
                        _ => "S",
                    }
                    .to_owned(),
                    ref_bereich: code.range.filter(|_| !rng.chance(5)).map(str::to_owned),
                });
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{LabValue, legacy_date_to_fhir};

    #[test]
    fn the_data_has_what_the_facade_must_cope_with() {
        let data = Dataset::generate(300, 7);
        let p = &data.patients;
        assert!(p.iter().any(|p| p.nachname == "Müller"));
        assert!(
            p.iter()
                .any(|p| p.nachname == "Mueller" || p.nachname == "Muller")
        );
        assert!(
            p.iter()
                .any(|p| p.nachname.contains('ß') || p.vorname.contains('ß'))
        );
        assert!(p.iter().any(|p| p.geb_datum == "00000000"));
        assert!(
            p.iter()
                .any(|p| p.geb_datum.ends_with("0000") && p.geb_datum != "00000000")
        );
        assert!(
            p.iter()
                .any(|p| p.geb_datum.ends_with("00") && !p.geb_datum.ends_with("0000"))
        );
        assert!(p.iter().any(|p| p.geloescht == 1));
        assert!(p.iter().any(|p| p.verstorben_am.is_some()));
        for patient in p {
            assert!(
                patient.geb_datum == "00000000"
                    || legacy_date_to_fhir(&patient.geb_datum).is_some()
            );
            assert!(
                patient.nachname.chars().count() <= 60 && patient.strasse.chars().count() <= 80
            );
            assert!(patient.kvnr.as_ref().is_none_or(|k| k.len() == 10));
        }
        let l = &data.labs;
        let per_patient = l.len() / p.len();
        assert!((80..=120).contains(&per_patient), "{per_patient}");
        assert!(l.iter().any(|l| l.wert.starts_with('<')));
        assert!(l.iter().any(|l| l.wert.starts_with('>')));
        assert!(l.iter().any(|l| l.wert == "positiv"));
        assert!(l.iter().any(|l| l.wert.contains(',')));
        assert!(l.iter().any(|l| l.status == "S"));
        assert!(l.iter().any(|l| l.labcode == "HAUS1"));
        assert!(l.iter().all(|l| l.wert.chars().count() <= 20));
        assert!(
            l.iter()
                .any(|l| matches!(LabValue::parse(&l.wert), LabValue::Text(_)))
        );
        assert!(data.cases.iter().any(|c| c.entlassung.is_none()));
        for s in ["G", "V", "A", "Z"] {
            assert!(data.diagnoses.iter().any(|d| d.sicherheit == s), "{s}");
        }
    }

    #[test]
    fn seeds_decide_the_data() {
        assert_eq!(Dataset::generate(20, 1), Dataset::generate(20, 1));
        assert_ne!(Dataset::generate(20, 1), Dataset::generate(20, 2));
    }
}
