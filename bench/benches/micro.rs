//! Micro-benchmarks of the request path's CPU stages (`bench/micro`): search parsing, SQL
//! translation, row → resource and Bundle serialization, over the OMOP mapping and rows of the
//! embedded SQLite demo CDM.
//!
//! Row mapping and serialization are reported per entry (criterion's element throughput), each
//! beside a baseline measured in the same run: reading the same columns out of the rows without
//! building a resource, and `serde_json` writing (and dropping) the same resources as a plain
//! array. The ratio of the two is what the facade adds.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use fhir_facade_core::sql::{Executor, RowMapper, SqlFragment, SqlTranslator};
use fhir_facade_core::{Bundle, Resource, SearchQuery, SearchTranslator};
use fhir_facade_sqlx::{Database, Pool, Row};
use omop_facade::mappers::{ObservationMapper, PatientMapper};
use omop_facade::mapping::{CdmLocation, schema};
use serde_json::Value;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// W2 of bench/run, with the include of W3.
const W3: &str = "patient=42&code=http://loinc.org|8302-2&_count=20&_include=Observation:patient";

/// The OMOP mapping over the demo database, and a runtime to fetch rows from it with the
/// facade's own statements.
struct Demo {
    translator: SqlTranslator,
    runtime: tokio::runtime::Runtime,
    db: Database,
}

impl Demo {
    fn open() -> Demo {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let path = omop_facade::demo::demo_path(|name| std::env::var(name).ok());
        let db = runtime.block_on(async {
            omop_facade::demo::ensure_demo_db(&path)
                .await
                .expect("the embedded demo database");
            let url = omop_facade::sqlite_read_only_url(&path);
            let pool = Pool::connect(&url, 1)
                .await
                .expect("the demo database opens");
            Database::new(pool, Duration::from_secs(30))
        });
        let schema = Arc::new(
            schema(&CdmLocation::default_schema(), Executor::dialect(&db)).expect("the mapping"),
        );
        Demo {
            translator: SqlTranslator::new(Executor::dialect(&db), schema),
            runtime,
            db,
        }
    }

    fn parse(&self, resource_type: &str, query: &str) -> SearchQuery {
        let params = self.translator.schema().supported_params();
        SearchQuery::parse(resource_type, query, &params, &Default::default())
            .expect("a valid search")
    }

    fn rows(&self, resource_type: &str, count: usize) -> Vec<Row> {
        let query = self.parse(resource_type, &format!("_count={count}"));
        let plan = self.translator.translate(&query, &[]).expect("translates");
        let select: SqlFragment = plan.select.expect("a row select");
        let mut rows = self
            .runtime
            .block_on(self.db.fetch_all(&select, None))
            .expect("the demo rows");
        rows.truncate(count);
        assert_eq!(
            rows.len(),
            count,
            "the demo holds {count} {resource_type} rows"
        );
        rows
    }
}

fn parsing_and_translation(c: &mut Criterion, demo: &Demo) {
    let mut group = c.benchmark_group("search");
    let params = demo.translator.schema().supported_params();
    group.bench_function("parse W3", |b| {
        b.iter(|| {
            SearchQuery::parse("Observation", black_box(W3), &params, &Default::default())
                .expect("parses")
        })
    });
    let query = demo.parse("Observation", W3);
    group.bench_function("translate W3", |b| {
        b.iter(|| {
            demo.translator
                .translate(black_box(&query), &[])
                .expect("translates")
        })
    });
    let id = fhir_facade_core::search::registry::r4_param("Patient", "_id").expect("_id");
    let read = SearchQuery::by_ids("Patient", id, &["42".to_owned()]);
    group.bench_function("translate read", |b| {
        b.iter(|| {
            demo.translator
                .translate_lookup(black_box(&read), &[])
                .expect("translates")
        })
    });
    group.finish();
}

fn row_mapping(c: &mut Criterion, demo: &Demo) {
    let mut group = c.benchmark_group("row to resource");
    let observations = demo.rows("Observation", 100);
    let patients = demo.rows("Patient", 100);
    group.throughput(Throughput::Elements(100));
    group.bench_function("Observation", |b| {
        b.iter(|| {
            for row in &observations {
                black_box(ObservationMapper.to_resource(row).expect("maps"));
            }
        })
    });
    // The same rows' text and numbers read out, without building a resource: what the
    // driver's decoding costs before any mapping.
    group.bench_function("Observation columns only", |b| {
        b.iter(|| {
            for row in &observations {
                black_box(row.get_opt_str("id").expect("id"));
                black_box(row.get_opt_str("code_code").expect("code"));
                black_box(row.get_opt_str("code_display").expect("display"));
                black_box(row.get_opt_i64("person_id").expect("person"));
            }
        })
    });
    group.bench_function("Patient", |b| {
        b.iter(|| {
            for row in &patients {
                black_box(PatientMapper.to_resource(row).expect("maps"));
            }
        })
    });
    group.finish();
}

fn serialization(c: &mut Criterion, demo: &Demo) {
    let rows = demo.rows("Observation", 100);
    let mapped: Vec<Resource> = rows
        .iter()
        .map(|row| ObservationMapper.to_resource(row).expect("maps"))
        .collect();
    let mut group = c.benchmark_group("bundle");
    for entries in [100usize, 1_000] {
        // Distinct ids, so no entry is dropped as a duplicate.
        let resources: Vec<Resource> = (0..entries)
            .map(|i| {
                let mut resource = mapped[i % mapped.len()].clone();
                resource.set_id(&format!("meas-{i}"));
                resource
            })
            .collect();
        group.throughput(Throughput::Elements(entries as u64));
        group.bench_with_input(
            BenchmarkId::new("searchset, streamed", entries),
            &resources,
            |b, resources| {
                b.iter_batched(
                    || resources.clone(),
                    |resources| {
                        let mut bundle = Bundle::searchset("http://localhost/fhir");
                        bundle.set_total(resources.len() as u64);
                        for resource in resources {
                            bundle.add_match(resource);
                        }
                        bundle.into_chunks().map(|chunk| chunk.len()).sum::<usize>()
                    },
                    BatchSize::LargeInput,
                )
            },
        );
        // The same resources written as a plain array and dropped, as the bundle's are.
        let plain: Vec<Value> = resources.iter().map(|r| r.as_json().clone()).collect();
        group.bench_with_input(
            BenchmarkId::new("serde_json array, baseline", entries),
            &plain,
            |b, plain| {
                b.iter_batched(
                    || plain.clone(),
                    |plain| serde_json::to_vec(&plain).expect("serializes").len(),
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let demo = Demo::open();
    parsing_and_translation(c, &demo);
    row_mapping(c, &demo);
    serialization(c, &demo);
}

// In a private module: the group function criterion generates is public and undocumented.
mod group {
    criterion::criterion_group!(micro, super::benches);
}
criterion_main!(group::micro);
