//! Writes through to the legacy tables on PostgreSQL, MariaDB and SQLite, each step checked in
//! the tables: Patient create → read → update with a stale If-Match (412) → update → delete
//! (then 410); lab Observation create with the LOINC code mapped to the local code, 422 for what
//! cannot be stored; failed writes leave the tables unchanged; concurrent creates get distinct
//! keys.

mod common;

use std::sync::Arc;

use common::{BASE, Kis, run};
use fhir_facade_core::sql::{BindValue, SqlFragment};
use fhir_facade_core::{Constraint, Context, Resource};
use fhir_facade_sqlx::Row;
use kis_facade::generate::pat_nr;
use serde_json::{Value, json};

async fn patient_row(kis: &Kis, id: i64) -> Row {
    let mut q = SqlFragment::sql(
        "SELECT pat_nr, kvnr, nachname, vorname, titel, geb_datum, geschlecht, strasse, plz, ort, \
         land, telefon, verstorben_am, geloescht, aend_zaehler, geaendert_am FROM patient WHERE pat_id = ",
    );
    q.push_bind(BindValue::Int(id));
    kis.rows_with(&q)
        .await
        .into_iter()
        .next()
        .expect("the row exists")
}

/// Every patient and lab row as text, to show that a failed write changed nothing.
async fn snapshot(kis: &Kis) -> Vec<String> {
    let mut rows = Vec::new();
    for r in kis
        .rows("SELECT pat_id, pat_nr, nachname, geb_datum, geloescht, aend_zaehler FROM patient ORDER BY pat_id")
        .await
    {
        rows.push(format!(
            "P {} {} {} {} {} {}",
            r.get_i64("pat_id").unwrap(),
            r.get_str("pat_nr").unwrap(),
            r.get_str("nachname").unwrap(),
            r.get_str("geb_datum").unwrap(),
            r.get_i64("geloescht").unwrap(),
            r.get_i64("aend_zaehler").unwrap()
        ));
    }
    for r in kis
        .rows("SELECT befund_id, pat_id, labcode, wert FROM labor_befund ORDER BY befund_id")
        .await
    {
        rows.push(format!(
            "L {} {} {} {}",
            r.get_i64("befund_id").unwrap(),
            r.get_i64("pat_id").unwrap(),
            r.get_str("labcode").unwrap(),
            r.get_str("wert").unwrap()
        ));
    }
    rows
}

fn new_patient() -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "http://fhir.de/sid/gkv/kvid-10", "value": "Z123456789"}],
        "name": [{"use": "official", "family": "Müller-Lüdenscheidt", "given": ["Jörg", "Ägidius"], "prefix": ["Dr."]}],
        "telecom": [{"system": "phone", "value": "0221 998877"}],
        "gender": "male",
        "birthDate": "1961-07",
        "address": [{"line": ["Schloßallee 7"], "postalCode": "50667", "city": "Köln", "country": "DE"}]
    })
}

fn resource(value: Value) -> Resource {
    Resource::new(value).unwrap()
}

fn str_of(row: &Row, column: &str) -> String {
    row.get_str(column).unwrap().trim().to_owned()
}

async fn patient_round_trip(kis: Arc<Kis>) {
    let name = kis.name;
    let ctx = Context::new();
    let max_before = kis.rows("SELECT MAX(pat_id) AS m FROM patient").await[0]
        .get_i64("m")
        .unwrap();

    // create
    let created = kis
        .facade
        .create("Patient", resource(new_patient()), None, BASE, &ctx)
        .await
        .unwrap();
    assert!(created.created);
    let json = created.resource.as_json().clone();
    let id: i64 = json["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id, max_before + 1, "{name}: the database decides the key");
    assert_eq!(json["meta"]["versionId"], "1");
    assert_eq!(json["birthDate"], "1961-07");
    assert_eq!(json["name"][0]["family"], "Müller-Lüdenscheidt");
    assert!(
        json["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["system"] == "https://klinikum.example.org/sid/patnr"
                && i["value"] == pat_nr(id).as_str()),
        "{name}: {json}"
    );
    let row = patient_row(&kis, id).await;
    assert_eq!(str_of(&row, "pat_nr"), pat_nr(id));
    assert_eq!(str_of(&row, "nachname"), "Müller-Lüdenscheidt");
    assert_eq!(str_of(&row, "vorname"), "Jörg Ägidius");
    assert_eq!(str_of(&row, "titel"), "Dr.");
    assert_eq!(str_of(&row, "geb_datum"), "19610700");
    assert_eq!(str_of(&row, "geschlecht"), "M");
    assert_eq!(str_of(&row, "kvnr"), "Z123456789");
    assert_eq!(str_of(&row, "strasse"), "Schloßallee 7");
    assert_eq!(str_of(&row, "ort"), "Köln");
    assert_eq!(str_of(&row, "land"), "DE");
    assert_eq!(row.get_i64("geloescht").unwrap(), 0);
    assert_eq!(row.get_i64("aend_zaehler").unwrap(), 1);

    // read, and search finds it accent-insensitively
    let read = kis
        .facade
        .read("Patient", &id.to_string(), &ctx)
        .await
        .unwrap();
    assert_eq!(read.as_json(), &json, "{name}");
    assert!(kis.ids("Patient", "family=muller-lud").await.contains(&id));
    assert!(kis.ids("Patient", "birthdate=1961-07").await.contains(&id));

    // update with a stale If-Match: 412, nothing changed
    let mut changed = json.clone();
    changed["gender"] = json!("female");
    changed["birthDate"] = json!("1961-07-04");
    changed["address"][0]["city"] = json!("Düsseldorf");
    let before = snapshot(&kis).await;
    let err = kis
        .facade
        .update(
            "Patient",
            &id.to_string(),
            resource(changed.clone()),
            Some("0".into()),
            &ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 412, "{name}: {err}");
    assert_eq!(
        snapshot(&kis).await,
        before,
        "{name}: a failed update changed the tables"
    );
    assert_eq!(str_of(&patient_row(&kis, id).await, "geschlecht"), "M");

    // update with the current version
    let updated = kis
        .facade
        .update(
            "Patient",
            &id.to_string(),
            resource(changed.clone()),
            Some("1".into()),
            &ctx,
        )
        .await
        .unwrap();
    assert!(!updated.created);
    let uj = updated.resource.as_json();
    assert_eq!(uj["meta"]["versionId"], "2");
    assert_eq!(uj["gender"], "female");
    assert_eq!(uj["birthDate"], "1961-07-04");
    let row = patient_row(&kis, id).await;
    assert_eq!(row.get_i64("aend_zaehler").unwrap(), 2);
    assert_eq!(str_of(&row, "geschlecht"), "W");
    assert_eq!(str_of(&row, "geb_datum"), "19610704");
    assert_eq!(str_of(&row, "ort"), "Düsseldorf");
    assert_eq!(
        str_of(&row, "pat_nr"),
        pat_nr(id),
        "the patient number stays"
    );

    // the patient number cannot change; what the KIS cannot store is a 422
    let before = snapshot(&kis).await;
    let mut other_nr = uj.clone();
    other_nr["identifier"][0]["value"] = json!("0000000001");
    for (body, expected) in [
        (other_nr, 422),
        (
            json!({"resourceType": "Patient", "id": id.to_string(), "name": [{"family": "X", "given": ["Y"]}], "photo": []}),
            422,
        ),
        (
            json!({"resourceType": "Patient", "id": id.to_string(), "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1961-02-30"}),
            422,
        ),
        (
            json!({"resourceType": "Patient", "id": id.to_string(), "name": [{"family": "X".repeat(61), "given": ["Y"]}]}),
            422,
        ),
        (
            json!({"resourceType": "Patient", "id": id.to_string(), "name": [{"family": "X", "given": ["Y"]}], "gender": "f"}),
            422,
        ),
    ] {
        let err = kis
            .facade
            .update("Patient", &id.to_string(), resource(body), None, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), expected, "{name}: {err}");
        let outcome = err.to_operation_outcome();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    assert_eq!(
        snapshot(&kis).await,
        before,
        "{name}: rejected updates changed the tables"
    );

    // delete: geloescht = 1, then 410 and never found
    kis.facade
        .delete("Patient", &id.to_string(), &ctx)
        .await
        .unwrap();
    let row = patient_row(&kis, id).await;
    assert_eq!(row.get_i64("geloescht").unwrap(), 1);
    assert_eq!(row.get_i64("aend_zaehler").unwrap(), 3);
    let err = kis
        .facade
        .read("Patient", &id.to_string(), &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 410, "{name}");
    assert!(!kis.ids("Patient", "family=muller-lud").await.contains(&id));
    assert!(kis.ids("Patient", &format!("_id={id}")).await.is_empty());
    let err = kis
        .facade
        .update("Patient", &id.to_string(), resource(changed), None, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 410, "{name}");
    // Deleting again succeeds and changes nothing.
    kis.facade
        .delete("Patient", &id.to_string(), &ctx)
        .await
        .unwrap();
    assert_eq!(
        patient_row(&kis, id).await.get_i64("aend_zaehler").unwrap(),
        3
    );
    // Unknown ids: the KIS assigns ids, so an update cannot create (405).
    let err = kis
        .facade
        .update("Patient", "999999", resource(json!({"resourceType": "Patient", "id": "999999", "name": [{"family": "X", "given": ["Y"]}]})), None, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 405, "{name}: {err}");
    assert_eq!(
        kis.facade
            .delete("Patient", "999999", &ctx)
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        kis.facade
            .delete("Patient", "x", &ctx)
            .await
            .unwrap_err()
            .status(),
        404
    );
}

async fn failed_writes_leave_the_tables_unchanged(kis: Arc<Kis>) {
    let name = kis.name;
    let before = snapshot(&kis).await;
    // The insert runs, then the read-back under another patient's compartment fails: the whole
    // transaction is rolled back.
    let other = Context::new().with_constraint(Constraint::Compartment {
        compartment_type: "Patient".into(),
        id: "1".into(),
    });
    let provider = kis.facade.provider("Patient").unwrap();
    let err = provider
        .create(resource(new_patient()), &other)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403, "{name}: {err}");
    assert_eq!(
        snapshot(&kis).await,
        before,
        "{name}: the rolled-back insert is visible"
    );
    // A stale version, an unmappable code, a deleted subject: nothing written either.
    let live = kis.data.patients.iter().find(|p| p.geloescht == 0).unwrap();
    let deleted = kis.data.patients.iter().find(|p| p.geloescht == 1).unwrap();
    for (body, status) in [
        (
            observation(
                "99999-9",
                live.pat_id,
                None,
                json!({"valueQuantity": {"value": 1}}),
            ),
            422,
        ),
        (
            observation(
                "2823-3",
                deleted.pat_id,
                None,
                json!({"valueQuantity": {"value": 1}}),
            ),
            422,
        ),
        (
            observation(
                "2823-3",
                live.pat_id,
                Some(other_patients_case(&kis, live.pat_id)),
                json!({"valueQuantity": {"value": 1}}),
            ),
            422,
        ),
        (
            observation(
                "2823-3",
                live.pat_id,
                None,
                json!({"valueQuantity": {"value": 4.2, "system": "http://unitsofmeasure.org", "code": "mg/dL"}}),
            ),
            422,
        ),
        (
            observation("2823-3", live.pat_id, None, json!({"valueString": "4,2"})),
            422,
        ),
        (observation("2823-3", live.pat_id, None, json!({})), 422),
    ] {
        let err = kis
            .facade
            .create("Observation", resource(body), None, BASE, &Context::new())
            .await
            .unwrap_err();
        assert_eq!(err.status(), status, "{name}: {err}");
        assert_eq!(
            err.to_operation_outcome()["resourceType"],
            "OperationOutcome"
        );
    }
    assert_eq!(
        snapshot(&kis).await,
        before,
        "{name}: rejected creates changed the tables"
    );
}

fn other_patients_case(kis: &Kis, pat_id: i64) -> i64 {
    kis.data
        .cases
        .iter()
        .find(|c| c.pat_id != pat_id)
        .unwrap()
        .fall_id
}

fn observation(loinc: &str, pat_id: i64, fall_id: Option<i64>, value: Value) -> Value {
    let mut o = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": format!("Patient/{pat_id}")},
        "effectiveDateTime": "2024-03-01T08:15:00+01:00",
    });
    if let Some(fall) = fall_id {
        o["encounter"] = json!({"reference": format!("Encounter/{fall}")});
    }
    for (k, v) in value.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

async fn observation_create(kis: Arc<Kis>) {
    let name = kis.name;
    let live = kis.data.patients.iter().find(|p| p.geloescht == 0).unwrap();
    let case = kis
        .data
        .cases
        .iter()
        .find(|c| c.pat_id == live.pat_id)
        .unwrap();
    let ctx = Context::new();
    let max_before = kis
        .rows("SELECT MAX(befund_id) AS m FROM labor_befund")
        .await[0]
        .get_i64("m")
        .unwrap();
    let body = observation(
        "2823-3",
        live.pat_id,
        Some(case.fall_id),
        json!({
            "valueQuantity": {"value": 4.7, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 5.0}}]
        }),
    );
    let created = kis
        .facade
        .create("Observation", resource(body), None, BASE, &ctx)
        .await
        .unwrap();
    let cj = created.resource.as_json();
    let id: i64 = cj["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id, max_before + 1, "{name}");
    assert_eq!(cj["valueQuantity"]["value"], json!(4.7));
    assert_eq!(cj["valueQuantity"]["code"], "mmol/L");
    assert_eq!(cj["code"]["coding"][1]["code"], "K", "{name}: {cj}");
    assert_eq!(cj["effectiveDateTime"], "2024-03-01T07:15:00Z");
    let mut q = SqlFragment::sql(
        "SELECT pat_id, fall_id, labcode, wert, einheit, abnahme, status, ref_bereich FROM labor_befund WHERE befund_id = ",
    );
    q.push_bind(BindValue::Int(id));
    let row = kis.rows_with(&q).await.into_iter().next().unwrap();
    assert_eq!(row.get_i64("pat_id").unwrap(), live.pat_id);
    assert_eq!(row.get_i64("fall_id").unwrap(), case.fall_id);
    assert_eq!(str_of(&row, "labcode"), "K");
    assert_eq!(str_of(&row, "wert"), "4,7");
    assert_eq!(str_of(&row, "einheit"), "mmol/L");
    assert_eq!(str_of(&row, "status"), "E");
    assert_eq!(str_of(&row, "ref_bereich"), "3,5-5,0");
    assert_eq!(
        row.get_timestamp("abnahme").unwrap(),
        time::macros::datetime!(2024-03-01 07:15:00 UTC)
    );
    // Found by the searches over the text value.
    assert!(
        kis.ids(
            "Observation",
            &format!("patient={}&value-quantity=4.7", live.pat_id)
        )
        .await
        .contains(&id)
    );

    // A comparator and a qualitative value, without an encounter.
    let below = observation(
        "1988-5",
        live.pat_id,
        None,
        json!({"valueQuantity": {"value": 0.5, "comparator": "<", "unit": "mg/l"}, "status": "preliminary"}),
    );
    let created = kis
        .facade
        .create("Observation", resource(below), None, BASE, &ctx)
        .await
        .unwrap();
    let id: i64 = created.resource.id().unwrap().parse().unwrap();
    assert_eq!(
        created.resource.as_json()["valueQuantity"]["comparator"],
        "<"
    );
    let mut q = SqlFragment::sql(
        "SELECT wert, einheit, status, fall_id FROM labor_befund WHERE befund_id = ",
    );
    q.push_bind(BindValue::Int(id));
    let row = kis.rows_with(&q).await.into_iter().next().unwrap();
    assert_eq!(str_of(&row, "wert"), "<0,5");
    assert_eq!(str_of(&row, "einheit"), "mg/l");
    assert_eq!(str_of(&row, "status"), "V");
    assert_eq!(row.get_opt_i64("fall_id").unwrap(), None);
    assert!(
        kis.ids(
            "Observation",
            &format!("patient={}&code=1988-5&value-quantity=lt1", live.pat_id)
        )
        .await
        .contains(&id)
    );

    let positive = observation(
        "94500-6",
        live.pat_id,
        None,
        json!({"valueString": "positiv"}),
    );
    let created = kis
        .facade
        .create("Observation", resource(positive), None, BASE, &ctx)
        .await
        .unwrap();
    assert_eq!(
        created.resource.as_json()["valueString"],
        "positiv",
        "{name}"
    );
}

async fn concurrent_creates(kis: Arc<Kis>) {
    let name = kis.name;
    let count = |kis: Arc<Kis>| async move {
        kis.rows("SELECT COUNT(*) AS n FROM patient").await[0]
            .get_i64("n")
            .unwrap()
    };
    let before = count(kis.clone()).await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let kis = kis.clone();
        tasks.push(tokio::spawn(async move {
            kis.facade
                .create(
                    "Patient",
                    resource(new_patient()),
                    None,
                    BASE,
                    &Context::new(),
                )
                .await
                .map(|u| u.resource.id().unwrap().to_owned())
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{name}: {e:?}")),
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "{name}: keys must be distinct");
    assert_eq!(count(kis.clone()).await, before + 6, "{name}");
}

async fn suite(kis: Arc<Kis>) {
    patient_round_trip(kis.clone()).await;
    failed_writes_leave_the_tables_unchanged(kis.clone()).await;
    observation_create(kis.clone()).await;
    concurrent_creates(kis).await;
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
