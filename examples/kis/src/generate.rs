//! A seeded generator of realistic KIS data, and loading it into any [`Backend`].
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
//! ```
//! use kis_facade::generate::Dataset;
//!
//! let data = Dataset::generate(5, 42);
//! assert_eq!(data.patients.len(), 5);
//! assert_eq!(data, Dataset::generate(5, 42));
//! assert!(data.labs.len() > 5 * 80);
//! ```

use rust_decimal::Decimal;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

use fhir_facade_core::sql::write::Transaction;
use fhir_facade_core::translate::{BindValue, SqlFragment};

use crate::value::format_decimal_comma;
use crate::{Backend, schema};

/// A small deterministic generator (SplitMix64), so the data does not depend on a crate's
/// algorithm choices.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `low..=high`.
    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    /// `true` with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FAMILY: &[&str] = &[
    "Müller",
    "Mueller",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schäfer",
    "Schaefer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Schröder",
    "Neumann",
    "Krüger",
    "Köhler",
    "König",
    "Möller",
    "Weiß",
    "Weiss",
    "Groß",
    "Jäger",
    "Böhm",
    "Krämer",
    "Günther",
    "Kühn",
    "Hoffmann",
    "Zimmermann",
    "Lehmann",
    "Öztürk",
    "Ölschläger",
    "Straßburger",
    "Meier",
    "Maier",
];
const GIVEN_M: &[&str] = &[
    "Jürgen", "Jörg", "Björn", "Sören", "Günter", "Hans", "Peter", "Klaus", "Michael", "Thomas",
    "Andreas", "Stefan", "Uwe", "Lukas", "Jonas", "Émile", "André",
];
const GIVEN_W: &[&str] = &[
    "Anna", "Maria", "Ursula", "Monika", "Petra", "Sabine", "Jutta", "Käthe", "Bärbel", "Doris",
    "Gisela", "Renate", "Marie", "Sophie", "Zoë", "Chloé", "Renée", "Özlem",
];
const TITLES: &[&str] = &["Dr.", "Prof. Dr.", "Dr. med.", "Dipl.-Ing."];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Schloßallee",
    "Gartenweg",
    "Am Mühlbach",
    "Lindenstraße",
    "Kirchplatz",
    "Goethestraße",
    "Schillerstraße",
    "Königsallee",
];
const CITIES: &[(&str, &str)] = &[
    ("10115", "Berlin"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("20095", "Hamburg"),
    ("60311", "Frankfurt am Main"),
    ("40213", "Düsseldorf"),
    ("04109", "Leipzig"),
    ("90403", "Nürnberg"),
    ("97070", "Würzburg"),
    ("79098", "Freiburg im Breisgau"),
    ("48143", "Münster"),
    ("66111", "Saarbrücken"),
    ("01067", "Dresden"),
    ("30159", "Hannover"),
];
const STATIONS: &[&str] = &[
    "KARD1", "CHIR2", "INT", "NOTA", "GYN", "PAED", "NEURO", "ONKO",
];
const ICD: &[&str] = &[
    "I10.90", "E11.90", "J18.9", "I21.4", "N17.9", "K35.8", "S72.00", "C34.1", "F32.1", "U07.1",
    "I50.13", "J44.19", "E78.0", "Z95.1",
];
const SPECIALTIES: &[&str] = &[
    "Innere Medizin",
    "Allgemeinchirurgie",
    "Kardiologie",
    "Anästhesiologie",
    "Neurologie",
    "Gynäkologie und Geburtshilfe",
    "Kinder- und Jugendmedizin",
    "Labormedizin",
];

/// How a lab code's values are drawn.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Normally around `mean` with spread `sd`, `scale` decimal places; a share of values lies
    /// below `lod` (written `<lod`) or above `max` (written `>max`).
    Numeric {
        mean: f64,
        sd: f64,
        scale: u32,
        lod: Option<&'static str>,
        max: Option<&'static str>,
    },
    /// `positiv` / `negativ`.
    Qualitative,
}

/// One row of `labcode_map` with how its values are generated.
#[derive(Debug, Clone, Copy)]
struct LabCode {
    labcode: &'static str,
    loinc: Option<&'static str>,
    name: &'static str,
    ucum: &'static str,
    unit: &'static str,
    range: Option<&'static str>,
    kind: Kind,
}

const fn num(mean: f64, sd: f64, scale: u32) -> Kind {
    Kind::Numeric {
        mean,
        sd,
        scale,
        lod: None,
        max: None,
    }
}

const LAB_CODES: &[LabCode] = &[
    LabCode {
        labcode: "NA",
        loinc: Some("2951-2"),
        name: "Natrium",
        ucum: "mmol/L",
        unit: "mmol/l",
        range: Some("135-145"),
        kind: num(140.0, 4.0, 0),
    },
    LabCode {
        labcode: "K",
        loinc: Some("2823-3"),
        name: "Kalium",
        ucum: "mmol/L",
        unit: "mmol/l",
        range: Some("3,5-5,0"),
        kind: num(4.3, 0.6, 1),
    },
    LabCode {
        labcode: "KREA",
        loinc: Some("2160-0"),
        name: "Kreatinin",
        ucum: "mg/dL",
        unit: "mg/dl",
        range: Some("0,7-1,2"),
        kind: num(1.1, 0.5, 2),
    },
    LabCode {
        labcode: "GLU",
        loinc: Some("2345-7"),
        name: "Glucose",
        ucum: "mg/dL",
        unit: "mg/dl",
        range: Some("70-100"),
        kind: num(110.0, 35.0, 0),
    },
    LabCode {
        labcode: "HB",
        loinc: Some("718-7"),
        name: "Hämoglobin",
        ucum: "g/dL",
        unit: "g/dl",
        range: Some("12,0-16,0"),
        kind: num(13.5, 1.8, 1),
    },
    LabCode {
        labcode: "LEUK",
        loinc: Some("6690-2"),
        name: "Leukozyten",
        ucum: "10*3/uL",
        unit: "/nl",
        range: Some("4,0-10,0"),
        kind: Kind::Numeric {
            mean: 8.0,
            sd: 4.0,
            scale: 1,
            lod: None,
            max: Some("200"),
        },
    },
    LabCode {
        labcode: "THRO",
        loinc: Some("777-3"),
        name: "Thrombozyten",
        ucum: "10*3/uL",
        unit: "/nl",
        range: Some("150-400"),
        kind: num(250.0, 70.0, 0),
    },
    LabCode {
        labcode: "CRP",
        loinc: Some("1988-5"),
        name: "C-reaktives Protein",
        ucum: "mg/L",
        unit: "mg/l",
        range: Some("<5,0"),
        kind: Kind::Numeric {
            mean: 8.0,
            sd: 20.0,
            scale: 1,
            lod: Some("0,5"),
            max: Some("200"),
        },
    },
    LabCode {
        labcode: "TSH",
        loinc: Some("3016-3"),
        name: "TSH basal",
        ucum: "m[IU]/L",
        unit: "mU/l",
        range: Some("0,4-4,0"),
        kind: Kind::Numeric {
            mean: 2.0,
            sd: 1.5,
            scale: 2,
            lod: Some("0,01"),
            max: None,
        },
    },
    LabCode {
        labcode: "TNT",
        loinc: Some("6598-7"),
        name: "Troponin T",
        ucum: "ug/L",
        unit: "µg/l",
        range: Some("<0,014"),
        kind: Kind::Numeric {
            mean: 0.02,
            sd: 0.05,
            scale: 3,
            lod: Some("0,003"),
            max: Some("10"),
        },
    },
    LabCode {
        labcode: "HBA1C",
        loinc: Some("4548-4"),
        name: "HbA1c",
        ucum: "%",
        unit: "%",
        range: Some("4,0-6,0"),
        kind: num(6.2, 1.2, 1),
    },
    LabCode {
        labcode: "ALAT",
        loinc: Some("1742-6"),
        name: "ALAT (GPT)",
        ucum: "U/L",
        unit: "U/l",
        range: Some("<50"),
        kind: num(35.0, 25.0, 0),
    },
    LabCode {
        labcode: "HCGU",
        loinc: Some("2106-3"),
        name: "hCG im Urin",
        ucum: "1",
        unit: "",
        range: None,
        kind: Kind::Qualitative,
    },
    LabCode {
        labcode: "SARS",
        loinc: Some("94500-6"),
        name: "SARS-CoV-2 RNA (PCR)",
        ucum: "1",
        unit: "",
        range: None,
        kind: Kind::Qualitative,
    },
    LabCode {
        labcode: "HAUS1",
        loinc: None,
        name: "Hauseigener Test",
        ucum: "1",
        unit: "",
        range: None,
        kind: num(50.0, 10.0, 0),
    },
];

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

/// A value around `mean` (the sum of uniforms, close enough to normal for test data).
fn around(rng: &mut Rng, mean: f64, sd: f64) -> f64 {
    let sum: f64 = (0..6)
        .map(|_| rng.below(1_000_000) as f64 / 1_000_000.0)
        .sum();
    mean + (sum - 3.0) * sd * std::f64::consts::SQRT_2
}

fn lab_value(rng: &mut Rng, code: &LabCode) -> String {
    match code.kind {
        Kind::Qualitative => if rng.chance(15) { "positiv" } else { "negativ" }.to_owned(),
        Kind::Numeric {
            mean,
            sd,
            scale,
            lod,
            max,
        } => {
            if let Some(lod) = lod
                && rng.chance(20)
            {
                return format!("<{lod}");
            }
            if let Some(max) = max
                && rng.chance(2)
            {
                return format!(">{max}");
            }
            if rng.chance(1) {
                return "s. Kommentar".to_owned();
            }
            let x = around(rng, mean, sd).abs();
            let units = (x * 10f64.powi(scale as i32)).round() as i64;
            format_decimal_comma(Decimal::new(units, scale))
        }
    }
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

/// The `labcode_map` rows: `(labcode, loinc, bezeichnung, ucum)`. The in-house code `HAUS1`
/// has no LOINC mapping and is not in the map.
pub fn labcode_map() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    LAB_CODES
        .iter()
        .filter_map(|c| Some((c.labcode, c.loinc?, c.name, c.ucum)))
        .collect()
}

fn text(s: &str) -> BindValue {
    BindValue::Text(s.to_owned())
}

fn opt_text(s: &Option<String>) -> BindValue {
    s.as_deref().map_or(BindValue::Null, text)
}

fn opt_int(n: Option<i64>) -> BindValue {
    n.map_or(BindValue::Null, BindValue::Int)
}

fn opt_ts(t: Option<OffsetDateTime>) -> BindValue {
    t.map_or(BindValue::Null, BindValue::Timestamp)
}

/// Appends a bound value, or the literal `NULL` (PostgreSQL types a bound `NULL` as text, which
/// a timestamp or integer column rejects).
pub fn push_value(s: &mut SqlFragment, value: BindValue) {
    match value {
        BindValue::Null => {
            s.push("NULL");
        }
        value => {
            s.push_bind(value);
        }
    }
}

/// Multi-row `INSERT`s of `rows` into `table`, at most `per_statement` rows each (kept under
/// SQL Server's 2,100 parameters and old SQLite's 999).
fn inserts(table: &str, columns: &[&str], rows: Vec<Vec<BindValue>>) -> Vec<SqlFragment> {
    let per_statement = (900 / columns.len()).max(1);
    rows.chunks(per_statement)
        .map(|chunk| {
            let mut s = SqlFragment::sql(format!(
                "INSERT INTO {table} ({}) VALUES ",
                columns.join(", ")
            ));
            for (i, row) in chunk.iter().enumerate() {
                s.push(if i == 0 { "(" } else { ", (" });
                for (j, value) in row.iter().enumerate() {
                    if j > 0 {
                        s.push(", ");
                    }
                    push_value(&mut s, value.clone());
                }
                s.push(")");
            }
            s
        })
        .collect()
}

impl Dataset {
    /// The `INSERT` statements that load this data set (and the lab code map), every value bound.
    pub fn insert_statements(&self) -> Vec<SqlFragment> {
        let mut all = Vec::new();
        all.extend(inserts(
            "labcode_map",
            &["labcode", "loinc", "bezeichnung", "ucum"],
            labcode_map()
                .into_iter()
                .map(|(c, l, b, u)| vec![text(c), text(l), text(b), text(u)])
                .collect(),
        ));
        all.extend(inserts(
            "arzt",
            &["arzt_id", "lanr", "nachname", "vorname", "fachrichtung"],
            self.physicians
                .iter()
                .map(|a| {
                    vec![
                        BindValue::Int(a.arzt_id),
                        text(&a.lanr),
                        text(&a.nachname),
                        text(&a.vorname),
                        text(&a.fachrichtung),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "patient",
            &[
                "pat_id",
                "pat_nr",
                "kvnr",
                "nachname",
                "vorname",
                "titel",
                "geb_datum",
                "geschlecht",
                "strasse",
                "plz",
                "ort",
                "land",
                "telefon",
                "verstorben_am",
                "geloescht",
                "aend_zaehler",
                "geaendert_am",
            ],
            self.patients
                .iter()
                .map(|p| {
                    vec![
                        BindValue::Int(p.pat_id),
                        text(&p.pat_nr),
                        opt_text(&p.kvnr),
                        text(&p.nachname),
                        text(&p.vorname),
                        opt_text(&p.titel),
                        text(&p.geb_datum),
                        text(&p.geschlecht),
                        text(&p.strasse),
                        text(&p.plz),
                        text(&p.ort),
                        text(&p.land),
                        opt_text(&p.telefon),
                        opt_text(&p.verstorben_am),
                        BindValue::Int(p.geloescht),
                        BindValue::Int(p.aend_zaehler),
                        BindValue::Timestamp(p.geaendert_am),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "fall",
            &[
                "fall_id",
                "fall_nr",
                "pat_id",
                "fallart",
                "aufnahme",
                "entlassung",
                "station",
                "storniert",
            ],
            self.cases
                .iter()
                .map(|f| {
                    vec![
                        BindValue::Int(f.fall_id),
                        text(&f.fall_nr),
                        BindValue::Int(f.pat_id),
                        text(&f.fallart),
                        BindValue::Timestamp(f.aufnahme),
                        opt_ts(f.entlassung),
                        text(&f.station),
                        BindValue::Int(f.storniert),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "diagnose",
            &[
                "diag_id",
                "fall_id",
                "pat_id",
                "icd",
                "icd_version",
                "diag_art",
                "diag_datum",
                "sicherheit",
            ],
            self.diagnoses
                .iter()
                .map(|d| {
                    vec![
                        BindValue::Int(d.diag_id),
                        BindValue::Int(d.fall_id),
                        BindValue::Int(d.pat_id),
                        text(&d.icd),
                        text(&d.icd_version),
                        text(&d.diag_art),
                        text(&d.diag_datum),
                        text(&d.sicherheit),
                    ]
                })
                .collect(),
        ));
        all.extend(inserts(
            "labor_befund",
            &[
                "befund_id",
                "pat_id",
                "fall_id",
                "labcode",
                "wert",
                "einheit",
                "abnahme",
                "status",
                "ref_bereich",
            ],
            self.labs
                .iter()
                .map(|l| {
                    vec![
                        BindValue::Int(l.befund_id),
                        BindValue::Int(l.pat_id),
                        opt_int(l.fall_id),
                        text(&l.labcode),
                        text(&l.wert),
                        text(&l.einheit),
                        BindValue::Timestamp(l.abnahme),
                        text(&l.status),
                        opt_text(&l.ref_bereich),
                    ]
                })
                .collect(),
        ));
        all
    }
}

/// Creates the schema on `tx` (dropping the tables first when `replace`) and loads `data`.
/// The caller commits.
pub async fn load<T: Transaction>(
    tx: &mut T,
    backend: Backend,
    data: &Dataset,
    replace: bool,
) -> fhir_facade_core::Result<()> {
    if replace {
        for statement in schema::drop_statements(backend) {
            tx.execute(&SqlFragment::sql(statement)).await?;
        }
    }
    for statement in schema::create_statements(backend) {
        tx.execute(&SqlFragment::sql(statement)).await?;
    }
    for statement in data.insert_statements() {
        tx.execute(&statement).await?;
    }
    Ok(())
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

    #[test]
    fn inserts_stay_under_the_parameter_limits_and_bind_everything() {
        let data = Dataset::generate(30, 3);
        let statements = data.insert_statements();
        let rows: usize = statements
            .iter()
            .map(|s| {
                let (sql, binds) = s.render(|_| "?".into());
                assert!(binds.len() <= 900);
                assert!(!sql.contains('\''), "values are bound, never inlined");
                sql.matches('(').count() - 1
            })
            .sum();
        let expected = data.patients.len()
            + data.cases.len()
            + data.labs.len()
            + data.diagnoses.len()
            + data.physicians.len()
            + labcode_map().len();
        assert_eq!(rows, expected);
    }
}
