//! Every route and status code of the FHIR binding, through `oneshot`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use fhir_facade_axum::FhirRouter;
use fhir_facade_core::{Constraint, Error};
use serde_json::json;

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

#[tokio::test]
async fn metadata_is_a_capability_statement_with_batch() {
    let reply = get(&patients(), "/metadata").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some(FHIR_JSON));
    let statement = reply.json();
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(
        statement["rest"][0]["interaction"],
        json!([{"code": "batch"}])
    );
    assert_eq!(statement["rest"][0]["resource"][0]["type"], "Patient");
    assert_eq!(
        statement["rest"][0]["resource"][0]["operation"][0]["name"],
        "everything"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = patients();
    let request = Request::get("/Patient/p1")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, request).await.header("x-request-id"),
        Some("abc-123")
    );
    let first = get(&app, "/Patient/p1").await;
    let second = get(&app, "/nowhere/at/all/really/deep").await;
    let (a, b) = (first.header("x-request-id"), second.header("x-request-id"));
    assert!(a.is_some_and(|id| !id.is_empty()));
    assert_ne!(a, b);
}

#[tokio::test]
async fn the_request_id_reaches_the_provider_context() {
    let mut provider = mock("Patient");
    provider.expect_read().returning(|id, ctx| {
        assert_eq!(ctx.request_id.as_deref(), Some("abc-123"));
        Ok(fhir_facade_core::Resource::new(json!({"resourceType": "Patient", "id": id})).unwrap())
    });
    let app = FhirRouter::builder(facade(provider)).build();
    let request = Request::get("/Patient/p1")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn read_answers_the_resource_with_version_headers() {
    let reply = get(&patients(), "/Patient/p1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some(FHIR_JSON));
    assert_eq!(reply.header("etag"), Some("W/\"1\""));
    assert_eq!(reply.header("last-modified"), Some(LAST_MODIFIED));
    assert_eq!(reply.json()["id"], "p1");
}

#[tokio::test]
async fn read_with_the_current_etag_is_not_modified() {
    let app = patients();
    let request = |tag: &str| {
        Request::get("/Patient/p1")
            .header("if-none-match", tag)
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&app, request("W/\"1\"")).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.header("etag"), Some("W/\"1\""));
    assert!(reply.body.is_empty());
    assert_eq!(send(&app, request("W/\"0\"")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_resources_types_and_routes_are_404() {
    let app = patients();
    for uri in [
        "/Patient/nope",
        "/Nonsense/1",
        "/Nonsense",
        "/Patient/p1/_history/1/x/y",
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(reply.issue_code(), "not-found", "{uri}");
    }
}

#[tokio::test]
async fn a_deleted_resource_is_gone() {
    let mut provider = mock("Patient");
    provider.expect_read().returning(|id, _| {
        Err(Error::Gone {
            resource_type: "Patient".into(),
            id: id.into(),
        })
    });
    let app = FhirRouter::builder(facade(provider)).build();
    let reply = get(&app, "/Patient/p1").await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert_eq!(reply.issue_code(), "deleted");
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = patients();
    let reply = send(
        &app,
        Request::delete("/metadata").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET"));
    assert_eq!(reply.issue_code(), "not-supported");

    let reply = send(
        &app,
        Request::patch("/Patient/p1").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET, PUT, DELETE"));

    let reply = get(&app, "/Patient/_search").await;
    assert_eq!(reply.header("allow"), Some("POST"));
    let reply = get(&app, "/").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("POST"));

    // A type that is not served is not found, whatever the method.
    let reply = get(&app, "/Nonsense/_search").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.issue_code(), "not-found");
}

#[tokio::test]
async fn interactions_the_provider_does_not_declare_are_405_with_allow() {
    let app = FhirRouter::builder(facade(mock("Patient"))).build();
    let reply = send(
        &app,
        Request::delete("/Patient/p1").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET"));
    assert_eq!(reply.issue_code(), "not-supported");
    let reply = send_json(&app, "POST", "/Patient", json!({"resourceType": "Patient"})).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET"));
}

#[tokio::test]
async fn formats_other_than_json_are_406() {
    let app = patients();
    let xml = Request::get("/Patient/p1")
        .header("accept", "application/fhir+xml")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, xml).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(reply.issue_code(), "not-supported");
    let reply = get(&app, "/Patient/p1?_format=xml").await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    for accept in ["application/json", "application/fhir+json", "*/*"] {
        let request = Request::get("/Patient/p1")
            .header("accept", accept)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, request).await.status, StatusCode::OK, "{accept}");
    }
    for format in ["json", "application/json", "application/fhir%2Bjson"] {
        let reply = get(&app, &format!("/Patient/p1?_format={format}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{format}");
    }
}

#[tokio::test]
async fn create_is_201_with_location_etag_and_the_resource() {
    let app = patients();
    let reply = send_json(
        &app,
        "POST",
        "/Patient",
        json!({"resourceType": "Patient", "id": "mine"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header("content-type"), Some(FHIR_JSON));
    assert_eq!(
        reply.header("location"),
        Some("http://localhost/Patient/3/_history/1")
    );
    assert_eq!(reply.header("etag"), Some("W/\"1\""));
    assert_eq!(reply.header("last-modified"), Some(LAST_MODIFIED));
    assert_eq!(reply.json()["id"], "3");
}

#[tokio::test]
async fn create_honours_prefer_return() {
    let app = patients();
    let create = |prefer: &str| {
        Request::post("/Patient")
            .header("content-type", "application/json")
            .header("prefer", prefer)
            .body(Body::from(r#"{"resourceType":"Patient"}"#))
            .unwrap()
    };
    let minimal = send(&app, create("return=minimal")).await;
    assert_eq!(minimal.status, StatusCode::CREATED);
    assert!(minimal.body.is_empty());
    assert!(minimal.header("location").is_some());
    let outcome = send(&app, create("return=OperationOutcome")).await;
    assert_eq!(outcome.status, StatusCode::CREATED);
    assert_eq!(outcome.issue_code(), "informational");
}

#[tokio::test]
async fn conditional_create_with_a_match_is_200() {
    let app = patients();
    let request = Request::post("/Patient")
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", "_id=p1")
        .body(Body::from(r#"{"resourceType":"Patient"}"#))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["id"], "p1");
}

#[tokio::test]
async fn bodies_of_another_media_type_are_415() {
    let request = Request::post("/Patient")
        .header("content-type", "application/xml")
        .body(Body::from("<Patient/>"))
        .unwrap();
    let reply = send(&patients(), request).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.issue_code(), "not-supported");
}

#[tokio::test]
async fn bodies_that_are_not_json_are_400_and_not_resources_are_422() {
    let app = patients();
    let request = Request::post("/Patient")
        .header("content-type", "application/fhir+json")
        .body(Body::from("{not json"))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.issue_code(), "invalid");
    let reply = send_json(&app, "POST", "/Patient", json!({"name": "no type"})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.issue_code(), "invalid");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = FhirRouter::builder(facade(memory_patients(&[])))
        .body_limit(64)
        .build();
    let big = json!({"resourceType": "Patient", "text": "x".repeat(200)});
    let reply = send_json(&app, "POST", "/Patient", big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.issue_code(), "too-costly");
}

#[tokio::test]
async fn update_replaces_and_update_as_create_is_201() {
    let app = patients();
    let reply = send_json(
        &app,
        "PUT",
        "/Patient/p1",
        json!({"resourceType": "Patient", "id": "p1"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    assert!(reply.header("location").is_none());
    let reply = send_json(
        &app,
        "PUT",
        "/Patient/p9",
        json!({"resourceType": "Patient", "id": "p9"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header("location"),
        Some("http://localhost/Patient/p9/_history/1")
    );
}

#[tokio::test]
async fn update_with_a_stale_if_match_is_412() {
    let app = patients();
    let update = |tag: &str| {
        Request::put("/Patient/p1")
            .header("content-type", "application/fhir+json")
            .header("if-match", tag)
            .body(Body::from(r#"{"resourceType":"Patient","id":"p1"}"#))
            .unwrap()
    };
    assert_eq!(send(&app, update("W/\"1\"")).await.status, StatusCode::OK);
    let reply = send(&app, update("W/\"1\"")).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(reply.issue_code(), "conflict");
}

#[tokio::test]
async fn conditional_update_and_delete_use_the_query() {
    let app = patients();
    let reply = send_json(
        &app,
        "PUT",
        "/Patient?_id=p2",
        json!({"resourceType": "Patient"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["id"], "p2");
    let reply = send(
        &app,
        Request::delete("/Patient?_id=p2")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, "/Patient/p2").await.status, StatusCode::GONE);
    let reply = send(
        &app,
        Request::delete("/Patient").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delete_is_204_and_then_reads_are_410() {
    let app = patients();
    let reply = send(
        &app,
        Request::delete("/Patient/p1").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = get(&app, "/Patient/p1").await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert_eq!(reply.issue_code(), "deleted");
}

#[tokio::test]
async fn search_streams_a_searchset() {
    let reply = get(&patients(), "/Patient?_count=1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some(FHIR_JSON));
    let bundle = reply.json();
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 2);
    assert_eq!(bundle["entry"].as_array().unwrap().len(), 1);
    assert_eq!(bundle["entry"][0]["fullUrl"], "http://localhost/Patient/p1");
}

#[tokio::test]
async fn search_bodies_are_streamed_and_reads_are_not() {
    use axum::body::HttpBody;
    use tower::ServiceExt;
    let app = patients();
    let search = app
        .clone()
        .oneshot(Request::get("/Patient").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(search.body().size_hint().exact(), None);
    let read = app
        .oneshot(Request::get("/Patient/p1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(read.body().size_hint().exact().is_some());
}

#[tokio::test]
async fn search_by_post_merges_the_form_with_the_query() {
    let request = Request::post("/Patient/_search?_count=5")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("_id=p2"))
        .unwrap();
    let reply = send(&patients(), request).await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = reply.json();
    assert_eq!(bundle["total"], 1);
    assert_eq!(bundle["entry"][0]["resource"]["id"], "p2");
    let self_link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(
        self_link.contains("_id=p2") && self_link.contains("_count=5"),
        "{self_link}"
    );

    let request = Request::post("/Patient/_search")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        send(&patients(), request).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn prefer_handling_strict_rejects_unknown_parameters() {
    let app = patients();
    let search = |prefer: &str| {
        Request::get("/Patient?bonkers=1")
            .header("prefer", prefer)
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&app, search("handling=strict")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.issue_code(), "not-supported");
    assert_eq!(
        send(&app, search("handling=lenient")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn pretty_printing_on_request() {
    let reply = get(&patients(), "/Patient/p1?_pretty=true").await;
    assert!(
        String::from_utf8(reply.body)
            .unwrap()
            .contains("\n  \"id\": \"p1\"")
    );
    let reply = get(&patients(), "/Patient?_pretty=true").await;
    assert!(
        String::from_utf8(reply.body)
            .unwrap()
            .contains("\n  \"type\": \"searchset\"")
    );
}

#[tokio::test]
async fn history_and_vread() {
    let app = patients();
    send_json(
        &app,
        "PUT",
        "/Patient/p1",
        json!({"resourceType": "Patient", "id": "p1", "active": true}),
    )
    .await;
    let reply = get(&app, "/Patient/p1/_history").await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = reply.json();
    assert_eq!(bundle["type"], "history");
    assert_eq!(bundle["entry"].as_array().unwrap().len(), 2);
    let reply = get(&app, "/Patient/_history").await;
    assert_eq!(reply.json()["entry"].as_array().unwrap().len(), 3);
    let reply = get(&app, "/Patient/p1/_history/1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("etag"), Some("W/\"1\""));
    assert!(reply.json().get("active").is_none());
}

#[tokio::test]
async fn compartment_search_passes_the_compartment() {
    let mut observations = mock("Observation");
    observations.expect_search().returning(|_, ctx| {
        assert_eq!(
            ctx.constraints,
            [Constraint::Compartment {
                compartment_type: "Patient".into(),
                id: "p1".into()
            }]
        );
        Ok(Default::default())
    });
    let facade = fhir_facade_core::Facade::builder()
        .provider(memory_patients(&["p1"]))
        .provider(observations)
        .build()
        .unwrap();
    let app = FhirRouter::builder(facade).build();
    let reply = get(&app, "/Patient/p1/Observation").await;
    assert_eq!(reply.status, StatusCode::OK);
    let self_link = reply.json()["link"][0]["url"].as_str().unwrap().to_owned();
    assert!(self_link.starts_with("http://localhost/Patient/p1/Observation?"));
    let reply = get(&app, "/Observation/o1/Patient").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn patient_everything_is_the_one_operation_served() {
    let reply = get(&patients(), "/Patient/p1/$everything").await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = reply.json();
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["entry"][0]["resource"]["id"], "p1");
    assert!(
        bundle["link"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost/Patient/p1/$everything?")
    );
    let reply = get(&patients(), "/Patient/nope/$everything").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operations_are_not_served() {
    let request = Request::get("/Patient/$everything")
        .header("origin", "https://app.example")
        .body(Body::empty())
        .unwrap();
    let reply = send(&patients(), request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.issue_code(), "invalid");
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert!(reply.header("x-request-id").is_some());
    let reply = send(
        &patients(),
        Request::post("/Patient/$validate")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_runs_every_entry_on_its_own() {
    let batch = json!({
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/p1"}},
            {"request": {"method": "GET", "url": "Patient/nope"}},
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient?_id=p2"}},
            {"request": {"method": "DELETE", "url": "Patient/p2"}},
            {"request": {"method": "GET", "url": "Patient/p2/$everything"}}
        ]
    });
    let reply = send_json(&patients(), "POST", "/", batch).await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = reply.json();
    assert_eq!(bundle["type"], "batch-response");
    let statuses: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "200 OK",
            "404 Not Found",
            "201 Created",
            "200 OK",
            "204 No Content",
            "404 Not Found"
        ]
    );
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(
        entries[1]["response"]["outcome"]["issue"][0]["code"],
        "not-found"
    );
    assert_eq!(
        entries[2]["response"]["location"],
        "http://localhost/Patient/3/_history/1"
    );
    assert_eq!(entries[3]["resource"]["type"], "searchset");
}

#[tokio::test]
async fn transactions_are_refused() {
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": []});
    let reply = send_json(&patients(), "POST", "/", transaction).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.json()["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("transaction")
    );
}

#[tokio::test]
async fn responses_are_gzipped_when_accepted() {
    let request = Request::get("/Patient")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let reply = send(&patients(), request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn cors_allows_any_origin_by_default() {
    let app = patients();
    let request = Request::get("/metadata")
        .header("origin", "https://app.example")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap()
        .to_owned();
    for name in ["etag", "location", "last-modified", "content-location"] {
        assert!(exposed.contains(name), "{exposed}");
    }

    let preflight = Request::options("/Patient/p1")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "if-match, prefer")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, preflight).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap()
        .to_owned();
    for name in [
        "authorization",
        "content-type",
        "prefer",
        "if-match",
        "if-none-exist",
        "if-none-match",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(reply.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn cors_origins_can_be_listed() {
    let app = FhirRouter::builder(facade(memory_patients(&["p1"])))
        .cors_origins(["https://ok.example".parse().unwrap()])
        .build();
    let from = |origin: &'static str| {
        Request::get("/Patient/p1")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&app, from("https://ok.example")).await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://ok.example")
    );
    let reply = send(&app, from("https://evil.example")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn panics_and_database_failures_are_500_without_detail() {
    let mut provider = mock("Patient");
    provider.expect_read().returning(|id, _| {
        if id == "boom" {
            panic!("secret detail");
        }
        Err(Error::Database {
            kind: fhir_facade_core::error::DatabaseErrorKind::Other,
            source: "SELECT secret FROM patient".into(),
        })
    });
    let app = FhirRouter::builder(facade(provider)).build();
    for uri in ["/Patient/boom", "/Patient/db"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert_eq!(reply.issue_code(), "exception");
        assert!(reply.header("x-request-id").is_some());
        assert!(!String::from_utf8_lossy(&reply.body).contains("secret"));
    }
}

#[tokio::test]
async fn a_resource_of_another_type_is_400() {
    let reply = send_json(
        &patients(),
        "POST",
        "/Patient",
        json!({"resourceType": "Observation"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.issue_code(), "invalid");
}
