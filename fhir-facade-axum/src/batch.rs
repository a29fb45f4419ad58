//! `POST [base]` with a `batch` Bundle: every entry runs through the [`Facade`] on its own, and
//! its outcome, success or failure, becomes one entry of the `batch-response`.
//!
//! [`Facade`]: fhir_facade_core::Facade

use crate::capabilities::capability_statement;
use crate::error::FhirError;
use crate::exchange::{Exchange, JsonResource};
#[cfg(feature = "smart")]
use crate::guard;
use crate::interaction::Interaction;
use crate::response::{bundle_response, version_of_etag};
use crate::search::searched;
use crate::shape::Shape;
use crate::state::AppState;
use crate::write::criteria;
use axum::extract::State;
#[cfg(feature = "smart")]
use axum::http::Method;
use axum::response::Response;
use fhir_facade_core::bundle::EntryResponse;
use fhir_facade_core::{Bundle, Error, Resource, Result, Updated};
use serde_json::Value;

/// `POST [base]`.
pub(crate) async fn batch(
    State(app): State<AppState>,
    ex: Exchange,
    JsonResource(bundle): JsonResource,
) -> std::result::Result<Response, FhirError> {
    let response = run(&app, &ex, &bundle).await?;
    Ok(bundle_response(response, ex.pretty))
}

/// Runs a batch. A `transaction` is refused as a whole: its all-or-nothing promise needs a
/// database transaction across providers, which the facade does not have.
async fn run(app: &AppState, ex: &Exchange, bundle: &Resource) -> Result<Bundle> {
    if bundle.resource_type() != "Bundle" {
        return Err(Error::BadRequest(format!(
            "POST to the base takes a batch Bundle, not a {}",
            bundle.resource_type()
        )));
    }
    match bundle.as_json()["type"].as_str() {
        Some("batch") => {}
        Some("transaction") => {
            return Err(Error::BadRequest(
                "transaction Bundles are not supported; send a batch, whose entries succeed or \
                 fail one by one"
                    .to_owned(),
            ));
        }
        _ => {
            return Err(Error::InvalidResource {
                message: "Bundle.type must be batch".to_owned(),
                expression: Some("Bundle.type".to_owned()),
            });
        }
    }
    let mut response = Bundle::batch_response(&ex.base);
    let entries = match bundle.as_json().get("entry") {
        None => &[][..],
        Some(serde_json::Value::Array(entries)) => entries.as_slice(),
        Some(_) => {
            return Err(Error::InvalidResource {
                message: "Bundle.entry must be an array".to_owned(),
                expression: Some("Bundle.entry".to_owned()),
            });
        }
    };
    for entry in entries {
        let (outcome, resource) = match execute(app, ex, entry).await {
            Ok(done) => done,
            Err(error) => {
                if error.status() >= 500 {
                    // As for a whole request (`FhirError`): the cause goes to the logs only.
                    tracing::error!(status = error.status(), error = %error, "batch entry failed");
                }
                (EntryResponse::from_error(&error), None)
            }
        };
        #[cfg(feature = "smart")]
        audit(app, ex, entry, &outcome)?;
        response.add_response(outcome, resource);
    }
    Ok(response)
}

/// Records the access of one entry like that of a request of its own.
#[cfg(feature = "smart")]
fn audit(app: &AppState, ex: &Exchange, entry: &Value, outcome: &EntryResponse) -> Result<()> {
    let request = &entry["request"];
    let method = request["method"].as_str().unwrap_or_default();
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Ok(());
    };
    let url = request["url"].as_str().unwrap_or_default();
    let url = url.strip_prefix(ex.base.as_str()).unwrap_or(url);
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    let status = outcome
        .status
        .split(' ')
        .next()
        .and_then(|code| code.parse().ok())
        .unwrap_or(500);
    guard::record(
        app,
        Shape::parse(path),
        &method,
        status,
        ex.token.as_deref(),
        None,
    )
    .map_err(|FhirError(error)| error)
}

/// One entry's interaction, chosen by `request.method` and the shape of `request.url`.
async fn execute(
    app: &AppState,
    ex: &Exchange,
    entry: &Value,
) -> Result<(EntryResponse, Option<Resource>)> {
    let request = &entry["request"];
    let (Some(method), Some(url)) = (request["method"].as_str(), request["url"].as_str()) else {
        return Err(Error::InvalidResource {
            message: "a batch entry needs request.method and request.url".to_owned(),
            expression: Some("Bundle.entry.request".to_owned()),
        });
    };
    // An absolute URL on this server counts as relative to the base; `[base]2/...` does not.
    let url = url
        .strip_prefix(ex.base.as_str())
        .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        .unwrap_or(url);
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let body = || match entry.get("resource") {
        Some(json) => Resource::new(json.clone()),
        None => Err(Error::InvalidResource {
            message: format!("a {method} entry needs a resource"),
            expression: Some("Bundle.entry.resource".to_owned()),
        }),
    };
    let facade = &app.facade;
    let (base, ctx) = (ex.base.as_str(), &ex.ctx);
    let found = |resource: Resource| {
        (
            EntryResponse::for_resource(200, base, &resource),
            Some(resource),
        )
    };
    let shape = Shape::parse(path);
    match (Interaction::of(method, shape), shape) {
        (Some(Interaction::Capabilities), _) => {
            let statement = capability_statement(app).await.map_err(|err| {
                tracing::error!(error = %err, "the IdP's SMART configuration is unavailable");
                Error::Internal("the SMART configuration is unavailable".to_owned())
            })?;
            listed(statement)
        }
        (Some(Interaction::SearchType), Shape::Type(t)) => {
            listed(searched(app, ex, t, query, None).await?.to_json())
        }
        (Some(Interaction::SearchCompartment), Shape::Compartment(c, id, t)) => {
            listed(searched(app, ex, t, query, Some((c, id))).await?.to_json())
        }
        (Some(Interaction::HistoryType), Shape::TypeHistory(t)) => {
            listed(facade.history(t, None, query, base, ctx).await?.to_json())
        }
        (Some(Interaction::HistoryInstance), Shape::InstanceHistory(t, id)) => listed(
            facade
                .history(t, Some(id), query, base, ctx)
                .await?
                .to_json(),
        ),
        (Some(Interaction::Read), Shape::Instance(t, id)) => {
            Ok(found(facade.read(t, id, ctx).await?))
        }
        (Some(Interaction::Vread), Shape::Version(t, id, vid)) => {
            Ok(found(facade.vread(t, id, vid, ctx).await?))
        }
        (Some(Interaction::Create), Shape::Type(t)) => {
            let if_none_exist = request["ifNoneExist"].as_str();
            written(
                base,
                facade.create(t, body()?, if_none_exist, base, ctx).await?,
            )
        }
        (Some(Interaction::Update), Shape::Instance(t, id)) => {
            let if_match = request["ifMatch"]
                .as_str()
                .map(|v| version_of_etag(v).to_owned());
            written(base, facade.update(t, id, body()?, if_match, ctx).await?)
        }
        (Some(Interaction::ConditionalUpdate), Shape::Type(t)) => written(
            base,
            facade
                .conditional_update(t, criteria(query)?, body()?, base, ctx)
                .await?,
        ),
        (Some(Interaction::Delete), Shape::Instance(t, id)) => {
            facade.delete(t, id, ctx).await?;
            Ok((EntryResponse::new(204), None))
        }
        (Some(Interaction::ConditionalDelete), Shape::Type(t)) => {
            facade
                .conditional_delete(t, criteria(query)?, base, ctx)
                .await?;
            Ok((EntryResponse::new(204), None))
        }
        // Besides what is not served at all: a batch in a batch, the SMART document and
        // `_search` form bodies, which only HTTP requests have.
        (_, Shape::Operation(_) | Shape::Unknown | Shape::Root) => {
            Err(Error::UnknownRoute(path.to_owned()))
        }
        (_, shape) => Err(Error::not_supported(
            shape.resource_type().unwrap_or(path),
            method,
        )),
    }
}

/// A search, history or CapabilityStatement as the entry's resource.
fn listed(json: Value) -> Result<(EntryResponse, Option<Resource>)> {
    Ok((EntryResponse::new(200), Some(Resource::new(json)?)))
}

fn written(base: &str, updated: Updated) -> Result<(EntryResponse, Option<Resource>)> {
    let status = if updated.created { 201 } else { 200 };
    let response = EntryResponse::for_resource(status, base, &updated.resource);
    Ok((response, Some(updated.resource)))
}
