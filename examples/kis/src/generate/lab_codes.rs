//! The lab codes of `labcode_map` and how each one's values are drawn: decimal-comma numbers,
//! values below or above the measuring range, qualitative results.

use rust_decimal::Decimal;

use super::rng::Rng;
use crate::value::format_decimal_comma;

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
pub(super) struct LabCode {
    pub(super) labcode: &'static str,
    loinc: Option<&'static str>,
    name: &'static str,
    ucum: &'static str,
    pub(super) unit: &'static str,
    pub(super) range: Option<&'static str>,
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

pub(super) const LAB_CODES: &[LabCode] = &[
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

/// A value around `mean` (the sum of uniforms, close enough to normal for test data).
fn around(rng: &mut Rng, mean: f64, sd: f64) -> f64 {
    let sum: f64 = (0..6)
        .map(|_| rng.below(1_000_000) as f64 / 1_000_000.0)
        .sum();
    mean + (sum - 3.0) * sd * std::f64::consts::SQRT_2
}

pub(super) fn lab_value(rng: &mut Rng, code: &LabCode) -> String {
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

/// The `labcode_map` rows: `(labcode, loinc, bezeichnung, ucum)`. The in-house code `HAUS1`
/// has no LOINC mapping and is not in the map.
pub fn labcode_map() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    LAB_CODES
        .iter()
        .filter_map(|c| Some((c.labcode, c.loinc?, c.name, c.ucum)))
        .collect()
}
