//! Searches on PostgreSQL, MariaDB and SQLite compared with direct SQL over the legacy tables:
//! names with and without umlauts, partial birth dates at every prefix, decimal-comma values
//! with comparators, and the other parameters of issue #7.

mod common;

use std::sync::Arc;

use common::{BASE, Kis, run};
use fhir_facade_core::search::{DateRange, DateValue, Handling, QuantityValue};
use fhir_facade_core::sql::fold;
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::{Context, SearchRequest};
use kis_facade::quantity::{UCUM, stored_value_matches};
use kis_facade::value::legacy_date_to_fhir;

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `(pat_id, nachname, vorname, titel, geb_datum, geschlecht, ort)` of live patients.
async fn live_patients(
    kis: &Kis,
) -> Vec<(i64, String, String, Option<String>, String, String, String)> {
    let rows = kis
        .rows("SELECT pat_id, nachname, vorname, titel, geb_datum, geschlecht, ort FROM patient WHERE geloescht = 0")
        .await;
    rows.iter()
        .map(|r| {
            (
                r.get_i64("pat_id").unwrap(),
                r.get_str("nachname").unwrap(),
                r.get_str("vorname").unwrap(),
                r.get_opt_str("titel").unwrap(),
                r.get_str("geb_datum").unwrap(),
                r.get_str("geschlecht").unwrap(),
                r.get_str("ort").unwrap(),
            )
        })
        .collect()
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

async fn names(kis: Arc<Kis>) {
    let patients = live_patients(&kis).await;
    assert!(patients.len() > 40, "{}", kis.name);
    let starts = |stored: &str, q: &str| fold(stored).starts_with(&fold(q));
    let mut checked_nonempty = 0;
    for q in [
        "muller",
        "Müller",
        "MÜLLER",
        "mül",
        "mueller",
        "Muller",
        "schro",
        "Schröder",
        "weiss",
        "weiß",
        "gross",
        "Groß",
        "oz",
        "Öztürk",
        "ölschl",
        "strassb",
        "x",
        "Sch",
    ] {
        let expected = sorted(
            patients
                .iter()
                .filter(|p| starts(&p.1, q))
                .map(|p| p.0)
                .collect(),
        );
        let got = kis.ids("Patient", &format!("family={}", encode(q))).await;
        assert_eq!(got, expected, "{}: family={q}", kis.name);
        checked_nonempty += usize::from(!expected.is_empty());
    }
    assert!(
        checked_nonempty >= 10,
        "{}: the data lacks the names",
        kis.name
    );
    // `family=muller` finds Müller and Muller, not Mueller.
    let found = kis.ids("Patient", "family=muller").await;
    let family_of = |id: i64| patients.iter().find(|p| p.0 == id).unwrap().1.clone();
    assert!(
        found.iter().any(|id| family_of(*id) == "Müller"),
        "{}",
        kis.name
    );
    assert!(
        found.iter().all(|id| family_of(*id) != "Mueller"),
        "{}",
        kis.name
    );

    for q in [
        "jürgen", "JURGEN", "Bär", "zoe", "Zoë", "Chlo", "ren", "émile",
    ] {
        let expected = sorted(
            patients
                .iter()
                .filter(|p| starts(&p.2, q))
                .map(|p| p.0)
                .collect(),
        );
        assert_eq!(
            kis.ids("Patient", &format!("given={}", encode(q))).await,
            expected,
            "{}: given={q}",
            kis.name
        );
    }
    for q in ["dr", "prof", "müll", "anna"] {
        let expected = sorted(
            patients
                .iter()
                .filter(|p| {
                    starts(&p.1, q)
                        || starts(&p.2, q)
                        || p.3.as_deref().is_some_and(|t| starts(t, q))
                })
                .map(|p| p.0)
                .collect(),
        );
        assert_eq!(
            kis.ids("Patient", &format!("name={}", encode(q))).await,
            expected,
            "{}: name={q}",
            kis.name
        );
    }
    for q in ["Müller", "müller", "Muller"] {
        let expected = sorted(patients.iter().filter(|p| p.1 == q).map(|p| p.0).collect());
        assert_eq!(
            kis.ids("Patient", &format!("family:exact={}", encode(q)))
                .await,
            expected,
            "{}: family:exact={q}",
            kis.name
        );
    }
    for q in ["ll", "ö", "SS", "ß"] {
        let expected = sorted(
            patients
                .iter()
                .filter(|p| fold(&p.1).contains(&fold(q)))
                .map(|p| p.0)
                .collect(),
        );
        assert_eq!(
            kis.ids("Patient", &format!("family:contains={}", encode(q)))
                .await,
            expected,
            "{}: family:contains={q}",
            kis.name
        );
    }
    for q in ["munchen", "Köln", "koln", "frank"] {
        let expected = sorted(
            patients
                .iter()
                .filter(|p| starts(&p.6, q))
                .map(|p| p.0)
                .collect(),
        );
        assert_eq!(
            kis.ids("Patient", &format!("address-city={}", encode(q)))
                .await,
            expected,
            "{}: address-city={q}",
            kis.name
        );
    }
    for (q, legacy) in [
        ("female", "W"),
        ("male", "M"),
        ("other", "D"),
        ("unknown", "U"),
    ] {
        let expected = sorted(
            patients
                .iter()
                .filter(|p| p.5.trim() == legacy)
                .map(|p| p.0)
                .collect(),
        );
        assert_eq!(
            kis.ids("Patient", &format!("gender={q}")).await,
            expected,
            "{}: gender={q}",
            kis.name
        );
    }
}

async fn birth_dates(kis: Arc<Kis>) {
    let patients = live_patients(&kis).await;
    let stored: Vec<(i64, Option<DateRange>)> = patients
        .iter()
        .map(|p| {
            let range = legacy_date_to_fhir(&p.4).map(|d| DateRange::parse(&d).unwrap().0);
            (p.0, range)
        })
        .collect();
    assert!(
        stored.iter().any(|(_, r)| r.is_none()),
        "{}: unknown dates",
        kis.name
    );
    // Dates from the data at each precision, so every comparison meets partial dates.
    let mut values = vec![
        "1980".to_owned(),
        "1980-05".to_owned(),
        "1980-05-17".to_owned(),
    ];
    for p in patients.iter().take(12) {
        if let Some(d) = legacy_date_to_fhir(&p.4) {
            values.push(d.clone());
            values.push(d[..4].to_owned());
            if d.len() >= 7 {
                values.push(d[..7].to_owned());
            }
        }
    }
    values.sort();
    values.dedup();
    let mut nonempty = 0;
    for value in &values {
        for prefix in ["", "eq", "ne", "lt", "gt", "le", "ge", "sa", "eb"] {
            let search = DateValue::parse(&format!("{prefix}{value}")).unwrap();
            let expected = sorted(
                stored
                    .iter()
                    .filter(|(_, r)| r.as_ref().is_some_and(|r| search.matches(r)))
                    .map(|(id, _)| *id)
                    .collect(),
            );
            let got = kis
                .ids("Patient", &format!("birthdate={prefix}{value}"))
                .await;
            assert_eq!(got, expected, "{}: birthdate={prefix}{value}", kis.name);
            nonempty += usize::from(!expected.is_empty());
        }
    }
    assert!(
        nonempty > values.len() * 5,
        "{}: too few birth dates matched",
        kis.name
    );
}

/// `(befund_id, wert, einheit, ucum)` of the lab results of live patients with `labcode`.
async fn lab_values(kis: &Kis, labcode: &str) -> Vec<(i64, String, String, Option<String>)> {
    let mut q = SqlFragment::sql(
        "SELECT l.befund_id, l.wert, l.einheit, m.ucum FROM labor_befund l \
         JOIN patient p ON p.pat_id = l.pat_id AND p.geloescht = 0 \
         LEFT JOIN labcode_map m ON m.labcode = l.labcode WHERE l.labcode = ",
    );
    q.push_bind(BindValue::Text(labcode.into()));
    kis.rows_with(&q)
        .await
        .iter()
        .map(|r| {
            (
                r.get_i64("befund_id").unwrap(),
                r.get_str("wert").unwrap(),
                r.get_str("einheit").unwrap(),
                r.get_opt_str("ucum").unwrap(),
            )
        })
        .collect()
}

async fn values(kis: Arc<Kis>) {
    let mut nonempty = 0;
    for (labcode, loinc, searches) in [
        (
            "CRP",
            "1988-5",
            &[
                "lt1", "lt0.3", "eb0.5", "le0.5", "gt100", "ge200", "sa200", "ne0.5", "5.4",
                "gt4.9", "ap10", "0.5",
            ][..],
        ),
        (
            "K",
            "2823-3",
            &[
                "4.3",
                "4.30",
                "lt3.5",
                "ge5",
                "ap4",
                "ne4.3",
                "gt4.2|http://unitsofmeasure.org|mmol/L",
                "4.3||mmol/l",
                "4.3|http://unitsofmeasure.org|mg/dL",
            ][..],
        ),
        (
            "TNT",
            "6598-7",
            &[
                "lt0.003", "le0.003", "eb0.003", "gt0.002", "gt10", "ge10", "sa5", "0.02",
            ][..],
        ),
        (
            "LEUK",
            "6690-2",
            &["gt100", "sa200", "ge200", "lt200", "8", "8.0"][..],
        ),
        ("SARS", "94500-6", &["gt0", "ne1"][..]),
    ] {
        let rows = lab_values(&kis, labcode).await;
        assert!(!rows.is_empty(), "{}: {labcode}", kis.name);
        for search in searches {
            let value = QuantityValue::parse(search).unwrap();
            let expected = sorted(
                rows.iter()
                    .filter(|(_, wert, einheit, ucum)| {
                        stored_value_matches(wert, &value.number)
                            && match (&value.system, &value.code) {
                                (Some(s), _) if s != UCUM => false,
                                (Some(_), Some(c)) => ucum.as_deref() == Some(c.as_str()),
                                (None, Some(c)) => {
                                    ucum.as_deref() == Some(c.as_str()) || einheit == c
                                }
                                _ => true,
                            }
                    })
                    .map(|r| r.0)
                    .collect(),
            );
            let query = format!(
                "code=http://loinc.org|{loinc}&value-quantity={}",
                encode(search)
            );
            let got = kis.ids("Observation", &query).await;
            assert_eq!(
                got, expected,
                "{}: {labcode} value-quantity={search}",
                kis.name
            );
            nonempty += usize::from(!expected.is_empty());
        }
    }
    assert!(
        nonempty >= 25,
        "{}: only {nonempty} value searches matched",
        kis.name
    );
    // A value below the detection limit is found by lt1 and carries its comparator.
    let below = kis
        .search_all(
            "Observation",
            "code=http://loinc.org|1988-5&value-quantity=lt1",
        )
        .await
        .unwrap();
    assert!(
        below
            .iter()
            .any(|o| o.as_json()["valueQuantity"]["comparator"] == "<"),
        "{}",
        kis.name
    );
}

async fn other_parameters(kis: Arc<Kis>) {
    let pat = kis.data.patients.iter().find(|p| p.geloescht == 0).unwrap();
    let pid = pat.pat_id;
    // Observation: patient, code (LOINC or local), status, date, encounter.
    let count = |sql: String| {
        let kis = kis.clone();
        async move {
            let rows = kis.rows(&sql).await;
            let mut ids: Vec<i64> = rows.iter().map(|r| r.get_i64("id").unwrap()).collect();
            ids.sort_unstable();
            ids
        }
    };
    let expected = count(format!(
        "SELECT befund_id AS id FROM labor_befund WHERE pat_id = {pid}"
    ))
    .await;
    assert_eq!(
        kis.ids("Observation", &format!("patient=Patient/{pid}"))
            .await,
        expected,
        "{}",
        kis.name
    );
    let expected = count(format!(
        "SELECT befund_id AS id FROM labor_befund WHERE pat_id = {pid} AND labcode = 'K'"
    ))
    .await;
    assert_eq!(
        kis.ids(
            "Observation",
            &format!("patient={pid}&code=http://loinc.org|2823-3")
        )
        .await,
        expected
    );
    assert_eq!(
        kis.ids(
            "Observation",
            &format!("patient={pid}&code=https://klinikum.example.org/CodeSystem/labcode|K")
        )
        .await,
        expected
    );
    assert_eq!(
        kis.ids("Observation", &format!("patient={pid}&code=2823-3"))
            .await,
        expected
    );
    let expected = count(format!(
        "SELECT befund_id AS id FROM labor_befund WHERE pat_id = {pid} AND status = 'S'"
    ))
    .await;
    assert_eq!(
        kis.ids("Observation", &format!("patient={pid}&status=cancelled"))
            .await,
        expected
    );
    let expected = count(
        "SELECT l.befund_id AS id FROM labor_befund l JOIN patient p ON p.pat_id = l.pat_id \
         AND p.geloescht = 0 WHERE l.labcode = 'HAUS1'"
            .into(),
    )
    .await;
    assert_eq!(
        kis.ids(
            "Observation",
            "code=https://klinikum.example.org/CodeSystem/labcode|HAUS1"
        )
        .await,
        expected
    );
    let case = kis.data.cases.iter().find(|c| c.pat_id == pid).unwrap();
    let expected = count(format!(
        "SELECT befund_id AS id FROM labor_befund WHERE fall_id = {}",
        case.fall_id
    ))
    .await;
    assert_eq!(
        kis.ids(
            "Observation",
            &format!("encounter=Encounter/{}", case.fall_id)
        )
        .await,
        expected
    );
    // date: the labs of this patient in the year of the case.
    let year = case.aufnahme.year();
    let in_year: Vec<i64> = sorted(
        kis.data
            .labs
            .iter()
            .filter(|l| l.pat_id == pid && l.abnahme.year() == year)
            .map(|l| l.befund_id)
            .collect(),
    );
    assert_eq!(
        kis.ids("Observation", &format!("patient={pid}&date={year}"))
            .await,
        in_year,
        "{}",
        kis.name
    );

    // Soft-deleted patients are never found, nor their data.
    let deleted = kis
        .data
        .patients
        .iter()
        .find(|p| p.geloescht == 1)
        .expect("a deleted patient");
    let all = kis.ids("Patient", "_count=100000").await;
    assert!(!all.contains(&deleted.pat_id));
    assert_eq!(
        all.len(),
        kis.data
            .patients
            .iter()
            .filter(|p| p.geloescht == 0)
            .count()
    );
    assert!(
        kis.ids("Observation", &format!("patient={}", deleted.pat_id))
            .await
            .is_empty()
    );
    let err = kis
        .facade
        .read("Patient", &deleted.pat_id.to_string(), &Context::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 410, "{}", kis.name);
    assert_eq!(
        kis.facade
            .read("Patient", "999999", &Context::new())
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        kis.facade
            .read("Patient", "abc", &Context::new())
            .await
            .unwrap_err()
            .status(),
        404
    );

    // identifier: both systems, and a bare value.
    let with_kvnr = kis
        .data
        .patients
        .iter()
        .find(|p| p.geloescht == 0 && p.kvnr.is_some())
        .unwrap();
    let kvnr = with_kvnr.kvnr.clone().unwrap();
    assert_eq!(
        kis.ids(
            "Patient",
            &format!("identifier=http://fhir.de/sid/gkv/kvid-10|{kvnr}")
        )
        .await,
        [with_kvnr.pat_id]
    );
    assert_eq!(
        kis.ids("Patient", &format!("identifier={kvnr}")).await,
        [with_kvnr.pat_id]
    );
    assert_eq!(
        kis.ids(
            "Patient",
            &format!(
                "identifier=https://klinikum.example.org/sid/patnr|{}",
                with_kvnr.pat_nr
            )
        )
        .await,
        [with_kvnr.pat_id]
    );
    assert!(
        kis.ids(
            "Patient",
            &format!("identifier=https://klinikum.example.org/sid/patnr|{kvnr}")
        )
        .await
        .is_empty()
    );

    // Encounter, Condition: patient, class, status, code, verification-status.
    let expected = sorted(
        kis.data
            .cases
            .iter()
            .filter(|c| c.pat_id == pid)
            .map(|c| c.fall_id)
            .collect(),
    );
    assert_eq!(
        kis.ids("Encounter", &format!("patient={pid}")).await,
        expected
    );
    let live: std::collections::HashSet<i64> = kis
        .data
        .patients
        .iter()
        .filter(|p| p.geloescht == 0)
        .map(|p| p.pat_id)
        .collect();
    let expected = sorted(
        kis.data
            .cases
            .iter()
            .filter(|c| live.contains(&c.pat_id) && c.fallart == "N")
            .map(|c| c.fall_id)
            .collect(),
    );
    assert_eq!(
        kis.ids(
            "Encounter",
            "class=http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER"
        )
        .await,
        expected
    );
    let expected = sorted(
        kis.data
            .cases
            .iter()
            .filter(|c| live.contains(&c.pat_id) && c.entlassung.is_none() && c.storniert == 0)
            .map(|c| c.fall_id)
            .collect(),
    );
    assert_eq!(kis.ids("Encounter", "status=in-progress").await, expected);
    let expected = sorted(
        kis.data
            .diagnoses
            .iter()
            .filter(|d| live.contains(&d.pat_id) && d.sicherheit == "A")
            .map(|d| d.diag_id)
            .collect(),
    );
    assert_eq!(
        kis.ids("Condition", "verification-status=refuted").await,
        expected
    );
    let expected = sorted(
        kis.data
            .diagnoses
            .iter()
            .filter(|d| live.contains(&d.pat_id) && d.icd == "I10.90")
            .map(|d| d.diag_id)
            .collect(),
    );
    assert_eq!(
        kis.ids(
            "Condition",
            "code=http://fhir.de/CodeSystem/bfarm/icd-10-gm|I10.90"
        )
        .await,
        expected
    );
    let arzt = &kis.data.physicians[0];
    assert_eq!(
        kis.ids(
            "Practitioner",
            &format!(
                "identifier=https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR|{}",
                arzt.lanr
            )
        )
        .await,
        sorted(
            kis.data
                .physicians
                .iter()
                .filter(|a| a.lanr == arzt.lanr)
                .map(|a| a.arzt_id)
                .collect()
        )
    );

    // Patient: postal code, phone, _lastUpdated (UTC wall-clock timestamps).
    let live_patients: Vec<_> = kis
        .data
        .patients
        .iter()
        .filter(|p| p.geloescht == 0)
        .collect();
    let plz = &pat.plz;
    assert_eq!(
        kis.ids("Patient", &format!("address-postalcode={plz}"))
            .await,
        sorted(
            live_patients
                .iter()
                .filter(|p| p.plz.starts_with(plz.as_str()))
                .map(|p| p.pat_id)
                .collect()
        )
    );
    let with_phone = live_patients.iter().find(|p| p.telefon.is_some()).unwrap();
    let phone = with_phone.telefon.clone().unwrap();
    assert_eq!(
        kis.ids("Patient", &format!("telecom=phone|{}", encode(&phone)))
            .await,
        sorted(
            live_patients
                .iter()
                .filter(|p| p.telefon.as_deref() == Some(phone.as_str()))
                .map(|p| p.pat_id)
                .collect()
        )
    );
    for year in [2016, 2020, 2024] {
        assert_eq!(
            kis.ids("Patient", &format!("_lastUpdated=ge{year}-01-01"))
                .await,
            sorted(
                live_patients
                    .iter()
                    .filter(|p| p.geaendert_am.year() >= year)
                    .map(|p| p.pat_id)
                    .collect()
            ),
            "{}: _lastUpdated=ge{year}",
            kis.name
        );
    }
    // Encounter date (a period; still admitted is ongoing) and Condition encounter.
    let mut matched = 0;
    for search in [
        "2023",
        "ge2023-06",
        "lt2019-06-01",
        "sa2024-01",
        "eb2019",
        "ne2021",
    ] {
        let value = DateValue::parse(search).unwrap();
        let expected = sorted(
            kis.data
                .cases
                .iter()
                .filter(|c| live.contains(&c.pat_id))
                .filter(|c| {
                    // [aufnahme, entlassung] at a resolution finer than any search value;
                    // still admitted is ongoing.
                    let end = c.entlassung.map_or(
                        time::OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
                        |e| e + time::Duration::nanoseconds(1),
                    );
                    value.matches(&DateRange {
                        start: c.aufnahme,
                        end,
                    })
                })
                .map(|c| c.fall_id)
                .collect(),
        );
        matched += usize::from(!expected.is_empty());
        assert_eq!(
            kis.ids("Encounter", &format!("date={search}")).await,
            expected,
            "{}: Encounter date={search}",
            kis.name
        );
    }
    assert!(matched >= 4, "{}", kis.name);
    assert_eq!(
        kis.ids(
            "Condition",
            &format!("encounter=Encounter/{}", case.fall_id)
        )
        .await,
        sorted(
            kis.data
                .diagnoses
                .iter()
                .filter(|d| d.fall_id == case.fall_id)
                .map(|d| d.diag_id)
                .collect()
        )
    );
    // A patient-compartment request sees its own data only.
    let lab = kis.data.labs.iter().find(|l| l.pat_id == pid).unwrap();
    let own = Context::new().with_constraint(fhir_facade_core::Constraint::Compartment {
        compartment_type: "Patient".into(),
        id: pid.to_string(),
    });
    let other = Context::new().with_constraint(fhir_facade_core::Constraint::Compartment {
        compartment_type: "Patient".into(),
        id: (pid + 1).to_string(),
    });
    assert!(
        kis.facade
            .read("Observation", &lab.befund_id.to_string(), &own)
            .await
            .is_ok()
    );
    assert_eq!(
        kis.facade
            .read("Observation", &lab.befund_id.to_string(), &other)
            .await
            .unwrap_err()
            .status(),
        404
    );

    // Through the facade: _include and _sort=-date.
    let bundle = kis
        .facade
        .search(
            &SearchRequest {
                resource_type: "Observation",
                query: &format!("patient={pid}&_include=Observation:patient&_sort=-date&_count=10"),
                handling: Handling::Strict,
                base_url: BASE,
                compartment: None,
            },
            &Context::new(),
        )
        .await
        .unwrap();
    let json = bundle.to_json();
    let entries = json["entry"].as_array().unwrap();
    let dates: Vec<&str> = entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Observation")
        .map(|e| e["resource"]["effectiveDateTime"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 10);
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "{}: {dates:?}",
        kis.name
    );
    assert!(entries.iter().any(|e| e["resource"]["resourceType"] == "Patient" && e["search"]["mode"] == "include"));

    // A bad value is a 400, not a 500.
    let err = kis
        .search_all("Observation", "value-quantity=abc")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let err = kis
        .search_all("Patient", "birthdate=1980-13")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
}

async fn suite(kis: Arc<Kis>) {
    names(kis.clone()).await;
    birth_dates(kis.clone()).await;
    values(kis.clone()).await;
    other_parameters(kis).await;
}

#[tokio::test]
async fn sqlite() {
    run(Kis::sqlite().await, suite).await;
}

#[tokio::test]
async fn postgres() {
    run(Kis::postgres().await, suite).await;
}

#[tokio::test]
async fn mariadb() {
    run(Kis::mariadb().await, suite).await;
}
