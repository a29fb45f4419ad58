//! Reading incoming resources into the legacy columns they write: anything the KIS cannot store
//! is a 422 naming the element.

use fhir_facade_core::sql::BindValue;
use fhir_facade_core::{Error, Resource, Result};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::mapping::{
    GENDERS, KVID_SYSTEM, LABCODE_SYSTEM, LOINC_SYSTEM, OBSERVATION_STATUSES, PATNR_SYSTEM,
    decimal_from_json,
};
use crate::quantity::UCUM;
use crate::value::{Comparator, LabValue, RefRange, fhir_date_to_legacy};

pub(super) fn invalid(message: impl Into<String>, expression: &str) -> Error {
    Error::InvalidResource {
        message: message.into(),
        expression: Some(expression.to_owned()),
    }
}

/// A string element with at most `max` characters.
fn bounded(value: &Value, max: usize, expression: &str) -> Result<String> {
    let s = value
        .as_str()
        .ok_or_else(|| invalid("must be a string", expression))?
        .trim();
    if s.chars().count() > max {
        return Err(invalid(
            format!("is longer than the {max} characters the KIS stores"),
            expression,
        ));
    }
    Ok(s.to_owned())
}

fn only_elements(
    object: &serde_json::Map<String, Value>,
    allowed: &[&str],
    resource: &str,
) -> Result<()> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(invalid(
            format!("the KIS cannot store {resource}.{key}"),
            &format!("{resource}.{key}"),
        )),
        None => Ok(()),
    }
}

fn array<'a>(value: Option<&'a Value>, expression: &str) -> Result<&'a [Value]> {
    match value {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid("must be an array", expression)),
    }
}

fn at_most_one<'a>(value: Option<&'a Value>, expression: &str) -> Result<Option<&'a Value>> {
    match array(value, expression)? {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(invalid("the KIS stores only one", expression)),
    }
}

/// The `patient` columns a Patient resource writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientFields {
    /// `pat_nr` as the resource gives it (only accepted when it is the stored one).
    pub pat_nr: Option<String>,
    /// `kvnr`
    pub kvnr: Option<String>,
    /// `nachname`
    pub nachname: String,
    /// `vorname`: the given names, space-separated.
    pub vorname: String,
    /// `titel`: the prefixes, space-separated.
    pub titel: Option<String>,
    /// `geb_datum`
    pub geb_datum: String,
    /// `geschlecht`
    pub geschlecht: String,
    /// `strasse`
    pub strasse: String,
    /// `plz`
    pub plz: String,
    /// `ort`
    pub ort: String,
    /// `land`
    pub land: String,
    /// `telefon`
    pub telefon: Option<String>,
    /// `verstorben_am`
    pub verstorben_am: Option<String>,
}

impl PatientFields {
    /// Reads a Patient resource; anything the KIS cannot store is a 422 naming the element.
    pub fn from_resource(resource: &Resource) -> Result<PatientFields> {
        let Some(p) = resource.as_json().as_object() else {
            return Err(invalid("not an object", "Patient"));
        };
        only_elements(
            p,
            &[
                "resourceType",
                "id",
                "meta",
                "text",
                "identifier",
                "active",
                "name",
                "telecom",
                "gender",
                "birthDate",
                "deceasedBoolean",
                "deceasedDateTime",
                "address",
            ],
            "Patient",
        )?;
        if p.get("active").is_some_and(|a| a != &Value::Bool(true)) {
            return Err(invalid(
                "the KIS only holds active patients",
                "Patient.active",
            ));
        }
        let (mut pat_nr, mut kvnr) = (None, None);
        for (i, identifier) in array(p.get("identifier"), "Patient.identifier")?
            .iter()
            .enumerate()
        {
            let path = format!("Patient.identifier[{i}]");
            let value = identifier
                .get("value")
                .ok_or_else(|| invalid("has no value", &path))?;
            match identifier.get("system").and_then(Value::as_str) {
                Some(PATNR_SYSTEM) if pat_nr.is_none() => pat_nr = Some(bounded(value, 10, &path)?),
                Some(KVID_SYSTEM) if kvnr.is_none() => kvnr = Some(bounded(value, 10, &path)?),
                _ => {
                    return Err(invalid(
                        format!(
                            "the KIS stores one identifier each of {PATNR_SYSTEM} and {KVID_SYSTEM}"
                        ),
                        &path,
                    ));
                }
            }
        }
        let name = at_most_one(p.get("name"), "Patient.name")?
            .ok_or_else(|| invalid("a name with family and given is required", "Patient.name"))?;
        let Some(name) = name.as_object() else {
            return Err(invalid("must be an object", "Patient.name[0]"));
        };
        only_elements(
            name,
            &["use", "text", "family", "given", "prefix"],
            "HumanName",
        )?;
        let nachname = bounded(
            name.get("family")
                .ok_or_else(|| invalid("is required", "Patient.name[0].family"))?,
            60,
            "Patient.name[0].family",
        )?;
        let words = |key: &str, max: usize| -> Result<Option<String>> {
            let path = format!("Patient.name[0].{key}");
            let mut parts = Vec::new();
            for item in array(name.get(key), &path)? {
                parts.push(bounded(item, max, &path)?);
            }
            let joined = parts.join(" ");
            if joined.chars().count() > max {
                return Err(invalid(format!("is longer than {max} characters"), &path));
            }
            Ok(Some(joined).filter(|j| !j.is_empty()))
        };
        let vorname =
            words("given", 60)?.ok_or_else(|| invalid("is required", "Patient.name[0].given"))?;
        let titel = words("prefix", 20)?;
        if nachname.is_empty() {
            return Err(invalid("is required", "Patient.name[0].family"));
        }
        let geb_datum = match p.get("birthDate") {
            None => "00000000".to_owned(),
            Some(d) => d
                .as_str()
                .and_then(fhir_date_to_legacy)
                .ok_or_else(|| invalid("is not a date", "Patient.birthDate"))?,
        };
        let geschlecht = match p.get("gender") {
            None => "U".to_owned(),
            Some(g) => GENDERS
                .iter()
                .find(|(_, fhir)| Some(*fhir) == g.as_str())
                .map(|(legacy, _)| (*legacy).to_owned())
                .ok_or_else(|| invalid("is not an administrative gender", "Patient.gender"))?,
        };
        let mut telefon = None;
        for (i, contact) in array(p.get("telecom"), "Patient.telecom")?
            .iter()
            .enumerate()
        {
            let path = format!("Patient.telecom[{i}]");
            if contact.get("system").and_then(Value::as_str) != Some("phone") || telefon.is_some() {
                return Err(invalid("the KIS stores one phone number", &path));
            }
            let value = contact
                .get("value")
                .ok_or_else(|| invalid("has no value", &path))?;
            telefon = Some(bounded(value, 30, &path)?);
        }
        let (mut strasse, mut plz, mut ort, mut land) =
            (String::new(), String::new(), String::new(), String::new());
        if let Some(address) = at_most_one(p.get("address"), "Patient.address")? {
            let Some(address) = address.as_object() else {
                return Err(invalid("must be an object", "Patient.address[0]"));
            };
            only_elements(
                address,
                &[
                    "use",
                    "type",
                    "text",
                    "line",
                    "postalCode",
                    "city",
                    "country",
                ],
                "Address",
            )?;
            let mut lines = Vec::new();
            for line in array(address.get("line"), "Patient.address[0].line")? {
                lines.push(bounded(line, 80, "Patient.address[0].line")?);
            }
            strasse = lines.join(", ");
            if strasse.chars().count() > 80 {
                return Err(invalid(
                    "is longer than 80 characters",
                    "Patient.address[0].line",
                ));
            }
            if let Some(v) = address.get("postalCode") {
                plz = bounded(v, 10, "Patient.address[0].postalCode")?;
            }
            if let Some(v) = address.get("city") {
                ort = bounded(v, 60, "Patient.address[0].city")?;
            }
            if let Some(v) = address.get("country") {
                land = bounded(v, 2, "Patient.address[0].country")?.to_ascii_uppercase();
            }
        }
        let verstorben_am = match (p.get("deceasedDateTime"), p.get("deceasedBoolean")) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "only one of deceasedBoolean and deceasedDateTime",
                    "Patient.deceased",
                ));
            }
            (None, None) | (None, Some(Value::Bool(false))) => None,
            (None, Some(_)) => {
                return Err(invalid(
                    "the KIS needs the date of death",
                    "Patient.deceasedBoolean",
                ));
            }
            (Some(d), None) => {
                let d = d.as_str().unwrap_or_default();
                // The date as written; a time of day is not stored.
                let date = d.split('T').next().unwrap_or_default();
                Some(
                    fhir_date_to_legacy(date)
                        .ok_or_else(|| invalid("is not a dateTime", "Patient.deceasedDateTime"))?,
                )
            }
        };
        Ok(PatientFields {
            pat_nr,
            kvnr,
            nachname,
            vorname,
            titel,
            geb_datum,
            geschlecht,
            strasse,
            plz,
            ort,
            land,
            telefon,
            verstorben_am,
        })
    }
}

/// The `labor_befund` values an Observation resource writes, before the lab code is mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationFields {
    /// `status`
    pub status: String,
    /// The LOINC code to map to `labcode`.
    pub loinc: String,
    /// The local code, when the resource names one too (it must be the mapped one).
    pub local: Option<String>,
    /// `pat_id`
    pub pat_id: i64,
    /// `fall_id`
    pub fall_id: Option<i64>,
    /// `abnahme`
    pub abnahme: OffsetDateTime,
    /// `wert`
    pub value: LabValue,
    /// `valueQuantity.unit`
    pub unit: Option<String>,
    /// `valueQuantity.code` (UCUM)
    pub ucum: Option<String>,
    /// `ref_bereich`
    pub ref_bereich: Option<String>,
}

fn reference_key(value: Option<&Value>, resource_type: &str, path: &str) -> Result<Option<i64>> {
    let Some(value) = value else { return Ok(None) };
    let reference = value
        .get("reference")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("must be a literal reference", path))?;
    reference
        .strip_prefix(&format!("{resource_type}/"))
        .and_then(
            |id| match fhir_facade_core::sql::mapping::IdKind::Integer.key(id) {
                Some(BindValue::Int(k)) => Some(k),
                _ => None,
            },
        )
        .map(Some)
        .ok_or_else(|| {
            invalid(
                format!("must refer to a {resource_type} of this server"),
                path,
            )
        })
}

impl ObservationFields {
    /// Reads a lab Observation; anything the KIS cannot store is a 422 naming the element.
    pub fn from_resource(resource: &Resource) -> Result<ObservationFields> {
        let Some(o) = resource.as_json().as_object() else {
            return Err(invalid("not an object", "Observation"));
        };
        only_elements(
            o,
            &[
                "resourceType",
                "id",
                "meta",
                "text",
                "status",
                "category",
                "code",
                "subject",
                "encounter",
                "effectiveDateTime",
                "valueQuantity",
                "valueString",
                "referenceRange",
            ],
            "Observation",
        )?;
        let status = o
            .get("status")
            .and_then(Value::as_str)
            .and_then(|s| OBSERVATION_STATUSES.iter().find(|(_, f)| *f == s))
            .map(|(l, _)| (*l).to_owned())
            .ok_or_else(|| {
                invalid(
                    "must be final, preliminary, amended or cancelled",
                    "Observation.status",
                )
            })?;
        for (i, category) in array(o.get("category"), "Observation.category")?
            .iter()
            .enumerate()
        {
            let laboratory = array(category.get("coding"), "Observation.category")?
                .iter()
                .any(|c| c.get("code").and_then(Value::as_str) == Some("laboratory"));
            if !laboratory {
                return Err(invalid(
                    "the KIS stores laboratory results only",
                    &format!("Observation.category[{i}]"),
                ));
            }
        }
        let codings = array(
            o.get("code").and_then(|c| c.get("coding")),
            "Observation.code.coding",
        )?;
        let code_of = |system: &str| {
            codings
                .iter()
                .find(|c| c.get("system").and_then(Value::as_str) == Some(system))
                .and_then(|c| c.get("code").and_then(Value::as_str))
                .map(str::to_owned)
        };
        let loinc = code_of(LOINC_SYSTEM)
            .ok_or_else(|| invalid("a LOINC coding is required", "Observation.code"))?;
        let local = code_of(LABCODE_SYSTEM);
        let pat_id = reference_key(o.get("subject"), "Patient", "Observation.subject")?
            .ok_or_else(|| invalid("is required", "Observation.subject"))?;
        let fall_id = reference_key(o.get("encounter"), "Encounter", "Observation.encounter")?;
        let abnahme = o
            .get("effectiveDateTime")
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or_else(|| {
                invalid(
                    "a dateTime with time and zone is required (when the specimen was taken)",
                    "Observation.effectiveDateTime",
                )
            })?;
        let (value, unit, ucum) = match (o.get("valueQuantity"), o.get("valueString")) {
            (Some(q), None) => {
                let path = "Observation.valueQuantity";
                let Some(q) = q.as_object() else {
                    return Err(invalid("must be an object", path));
                };
                only_elements(
                    q,
                    &["value", "comparator", "unit", "system", "code"],
                    "Quantity",
                )?;
                let value = q
                    .get("value")
                    .and_then(decimal_from_json)
                    .ok_or_else(|| invalid("a numeric value is required", path))?;
                let comparator = match q.get("comparator") {
                    None => None,
                    Some(c) => Some(
                        c.as_str()
                            .and_then(Comparator::from_fhir)
                            .ok_or_else(|| invalid("is not a comparator", path))?,
                    ),
                };
                if q.get("system").is_some_and(|s| s != UCUM) {
                    return Err(invalid("units must be UCUM", path));
                }
                let unit = q.get("unit").map(|u| bounded(u, 20, path)).transpose()?;
                let ucum = q.get("code").and_then(Value::as_str).map(str::to_owned);
                (LabValue::Quantity { comparator, value }, unit, ucum)
            }
            (None, Some(s)) => {
                let s = bounded(s, 20, "Observation.valueString")?;
                match LabValue::parse(&s) {
                    LabValue::Text(t) if !t.is_empty() => (LabValue::Text(t), None, None),
                    _ => {
                        return Err(invalid(
                            "a number is sent as valueQuantity",
                            "Observation.valueString",
                        ));
                    }
                }
            }
            _ => {
                return Err(invalid(
                    "exactly one of valueQuantity and valueString is required",
                    "Observation.value[x]",
                ));
            }
        };
        if value.to_legacy().chars().count() > 20 {
            return Err(invalid(
                "does not fit the 20 characters of the KIS",
                "Observation.value[x]",
            ));
        }
        let ref_bereich = match at_most_one(o.get("referenceRange"), "Observation.referenceRange")?
        {
            None => None,
            Some(element) => {
                let path = "Observation.referenceRange[0]";
                let bound = |key: &str| {
                    element.get(key).and_then(|q| q.get("value")).map(|v| {
                        decimal_from_json(v).ok_or_else(|| invalid("must be a number", path))
                    })
                };
                let range = RefRange {
                    low: bound("low").transpose()?,
                    high: bound("high").transpose()?,
                };
                let legacy = match range.to_legacy() {
                    Some(l) => l,
                    None => element
                        .get("text")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| invalid("needs low, high or text", path))?,
                };
                if legacy.chars().count() > 20 {
                    return Err(invalid("does not fit the 20 characters of the KIS", path));
                }
                Some(legacy)
            }
        };
        Ok(ObservationFields {
            status,
            loinc,
            local,
            pat_id,
            fall_id,
            abnahme,
            value,
            unit,
            ucum,
            ref_bereich,
        })
    }
}
