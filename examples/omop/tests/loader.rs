//! The loader's errors name the file (and line) at fault, and nothing is loaded when a needed
//! file is missing.

use std::path::{Path, PathBuf};

use omop_facade::load::{CsvDir, LoadError, load_sqlite, sqlite_writer};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("omop-loader-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("csv")).unwrap();
        Scratch(dir)
    }

    fn csv(&self) -> PathBuf {
        self.0.join("csv")
    }

    fn db(&self) -> PathBuf {
        self.0.join("omop.sqlite")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A minimal valid data set: one person with an address and a death, one concept, a visit and
/// a measurement.
fn write_valid(dir: &Path) {
    let files = [
        (
            "PERSON",
            "person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,race_concept_id,ethnicity_concept_id,person_source_value,location_id\n1,8532,1970,5,,0,0,abc,4\n",
        ),
        (
            "LOCATION",
            "location_id,address_1,city,state,zip\n4,1 Main St,Springfield,MA,01101\n",
        ),
        (
            "DEATH",
            "person_id,death_date,death_datetime,death_type_concept_id\n1,2021-02-03,2021-02-03 00:00:00,0\n",
        ),
        (
            "CONCEPT",
            "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,valid_start_date,valid_end_date,invalid_reason\n8532,\"FEMALE, \"\"F\"\"\",Gender,Gender,Gender,S,F,1970-01-01,2099-12-31,\n",
        ),
        (
            "VISIT_OCCURRENCE",
            "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_start_datetime,visit_end_date,visit_type_concept_id\n7,1,9202,2020-01-02,2020-01-02,2020-01-02,0\n",
        ),
        (
            "CONDITION_OCCURRENCE",
            "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_type_concept_id\n",
        ),
        (
            "DRUG_EXPOSURE",
            "drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_end_date,drug_type_concept_id\n",
        ),
        (
            "PROCEDURE_OCCURRENCE",
            "procedure_occurrence_id,person_id,procedure_concept_id,procedure_date,procedure_type_concept_id\n",
        ),
        (
            "MEASUREMENT",
            "measurement_id,person_id,measurement_concept_id,measurement_date,measurement_type_concept_id,value_as_number\n3,1,0,2020-01-02,0,1.5\n",
        ),
        (
            "OBSERVATION",
            "observation_id,person_id,observation_concept_id,observation_date,observation_type_concept_id\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
    }
}

async fn load(scratch: &Scratch) -> Result<omop_facade::load::LoadReport, LoadError> {
    let pool = sqlite_writer(&scratch.db()).await.unwrap();
    let result = load_sqlite(&pool, &CsvDir(scratch.csv()), true).await;
    pool.close().await;
    result
}

#[tokio::test]
async fn a_valid_set_loads_and_is_served() {
    let scratch = Scratch::new("valid");
    write_valid(&scratch.csv());
    let report = load(&scratch).await.unwrap();
    assert_eq!(report.rows_of("person"), Some(1));
    assert_eq!(report.rows_of("concept"), Some(1));
    assert_eq!(report.rows_of("death"), Some(1));
    assert_eq!(
        report.rows_of("specimen"),
        None,
        "no file, no rows, no error"
    );
    let facade = omop_facade::open(
        &omop_facade::sqlite_read_only_url(&scratch.db()),
        &omop_facade::mapping::CdmLocation::default_schema(),
        1,
    )
    .await
    .unwrap();
    let ctx = fhir_facade_core::Context::new();
    let patient = facade.read("Patient", "1", &ctx).await.unwrap();
    assert_eq!(patient.as_json()["birthDate"], "1970-05");
    assert_eq!(patient.as_json()["gender"], "female");
    assert_eq!(patient.as_json()["deceasedDateTime"], "2021-02-03");
    assert_eq!(
        patient.as_json()["address"],
        serde_json::json!([{"line": ["1 Main St"], "city": "Springfield", "state": "MA", "postalCode": "01101"}])
    );
    fhir_facade_tests::assert_valid(patient.as_json());
    let observation = facade.read("Observation", "meas-3", &ctx).await.unwrap();
    assert_eq!(observation.as_json()["valueQuantity"]["value"], 1.5);
    assert_eq!(observation.as_json()["encounter"], serde_json::Value::Null);
    fhir_facade_tests::assert_valid(observation.as_json());
    let encounter = facade.read("Encounter", "7", &ctx).await.unwrap();
    assert_eq!(encounter.as_json()["class"]["code"], "AMB");
    fhir_facade_tests::assert_valid(encounter.as_json());
}

#[tokio::test]
async fn a_missing_file_is_named_and_nothing_is_created() {
    let scratch = Scratch::new("missing");
    write_valid(&scratch.csv());
    std::fs::remove_file(scratch.csv().join("MEASUREMENT.csv")).unwrap();
    let err = load(&scratch).await.unwrap_err();
    assert!(matches!(err, LoadError::Missing(_)), "{err}");
    assert!(err.to_string().contains("MEASUREMENT.csv"), "{err}");
    let pool = sqlite_writer(&scratch.db()).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tables, 0);
}

#[tokio::test]
async fn malformed_files_are_named_with_the_line() {
    let scratch = Scratch::new("ragged");
    write_valid(&scratch.csv());
    std::fs::write(
        scratch.csv().join("PERSON.csv"),
        "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n1,8532,1970,0,0\n2,8507\n",
    )
    .unwrap();
    let err = load(&scratch).await.unwrap_err().to_string();
    assert!(err.contains("PERSON.csv"), "{err}");
    assert!(err.contains("line: 3"), "{err}");

    let scratch = Scratch::new("header");
    write_valid(&scratch.csv());
    std::fs::write(
        scratch.csv().join("CONCEPT.csv"),
        "concept_id,no_such_column\n1,x\n",
    )
    .unwrap();
    let err = load(&scratch).await.unwrap_err().to_string();
    assert!(err.contains("CONCEPT.csv"), "{err}");
    assert!(err.contains("no_such_column"), "{err}");
}
