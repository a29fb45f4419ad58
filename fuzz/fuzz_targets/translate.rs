//! A search query, parsed and translated into SQL for the OMOP mapping in every dialect: what
//! parses must translate to SQL or to a 4xx, with every value bound.
#![no_main]

use fhir_facade_core::SearchQuery;
use fhir_facade_core::search::{Handling, ParseOptions, SupportedParams};
use fhir_facade_core::sql::{
    Dialect, MsSqlDialect, MySqlDialect, PgDialect, SearchTranslator, SqlTranslator, SqliteDialect,
};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};

static DIALECTS: [&(dyn Dialect + Sync); 4] =
    [&PgDialect, &MySqlDialect, &SqliteDialect, &MsSqlDialect];

static TRANSLATORS: LazyLock<Vec<(SqlTranslator, SupportedParams)>> = LazyLock::new(|| {
    let at = omop_facade::mapping::CdmLocation::default_schema();
    DIALECTS
        .iter()
        .map(|&dialect| {
            let schema = omop_facade::mapping::schema(&at, dialect).expect("the mapping builds");
            let params = schema.supported_params();
            (SqlTranslator::new(dialect, Arc::new(schema)), params)
        })
        .collect()
});

const TYPES: [&str; 4] = ["Patient", "Observation", "Encounter", "Condition"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let query = String::from_utf8_lossy(rest);
    let resource_type = TYPES[usize::from(first) % TYPES.len()];
    let (translator, params) = &TRANSLATORS[usize::from(first >> 2) % DIALECTS.len()];
    let options = ParseOptions {
        handling: Handling::Lenient,
        base_url: None,
    };
    let Ok(parsed) = SearchQuery::parse(resource_type, &query, params, &options) else {
        return;
    };
    if let Err(error) = translator.translate(&parsed, &[]) {
        assert!((400..500).contains(&error.status()), "{error}");
    }
});
