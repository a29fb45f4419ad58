//! Audit of access decisions as FHIR `AuditEvent` resources, one JSON object per line.
//!
//! An [`AccessEvent`] is built from the validated claims, never from the token, so no sink can
//! ever write a token.

use super::validator::ValidatedToken;
use fhir_facade_core::Interaction;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const SECURITY_SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";

/// `AuditEvent.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// `0`: the interaction succeeded.
    Success,
    /// `4`: refused or failed because of the request (a 4xx answer).
    MinorFailure,
    /// `8`: failed because of the server (a 5xx answer).
    SeriousFailure,
}

impl AuditOutcome {
    /// The outcome of an interaction answered with HTTP `status`.
    pub fn for_status(status: u16) -> Self {
        match status {
            ..400 => AuditOutcome::Success,
            400..500 => AuditOutcome::MinorFailure,
            _ => AuditOutcome::SeriousFailure,
        }
    }

    fn code(self) -> &'static str {
        match self {
            AuditOutcome::Success => "0",
            AuditOutcome::MinorFailure => "4",
            AuditOutcome::SeriousFailure => "8",
        }
    }
}

/// One access decision: who asked for what, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// When the decision was made.
    pub recorded: OffsetDateTime,
    /// The FHIR interaction asked for.
    pub interaction: Interaction,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// A short reason for a failure (an error message, which never carries a token).
    pub outcome_description: Option<String>,
    /// The client (`azp` / `client_id`).
    pub client_id: Option<String>,
    /// The user (`sub`).
    pub subject: Option<String>,
    /// The user's FHIR resource (`fhirUser`).
    pub fhir_user: Option<String>,
    /// The launch-context patient of the token.
    pub patient: Option<String>,
    /// The resource type asked for.
    pub resource_type: Option<String>,
    /// The resource id asked for.
    pub resource_id: Option<String>,
    /// The server that observed the access (`AuditEvent.source.observer`).
    pub observer: String,
}

impl AccessEvent {
    /// An event recorded now, with no agent or entity yet.
    pub fn new(
        observer: impl Into<String>,
        interaction: Interaction,
        outcome: AuditOutcome,
    ) -> Self {
        AccessEvent {
            recorded: OffsetDateTime::now_utc(),
            interaction,
            outcome,
            outcome_description: None,
            client_id: None,
            subject: None,
            fhir_user: None,
            patient: None,
            resource_type: None,
            resource_id: None,
            observer: observer.into(),
        }
    }

    /// Adds the client, user and patient of a validated token.
    pub fn with_token(mut self, token: &ValidatedToken) -> Self {
        self.client_id.clone_from(&token.client_id);
        self.subject.clone_from(&token.subject);
        self.fhir_user.clone_from(&token.fhir_user);
        self.patient.clone_from(&token.patient);
        self
    }

    /// Adds the resource type, and the id when the interaction names one.
    pub fn with_resource(mut self, resource_type: impl Into<String>, id: Option<String>) -> Self {
        self.resource_type = Some(resource_type.into());
        self.resource_id = id;
        self
    }

    /// Adds the reason of a failure.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.outcome_description = Some(description.into());
        self
    }

    /// The event as a FHIR R4 `AuditEvent`.
    pub fn to_audit_event(&self) -> Value {
        let action = match self.interaction {
            Interaction::Create => "C",
            Interaction::Update => "U",
            Interaction::Delete => "D",
            Interaction::SearchType => "E",
            _ => "R",
        };
        let mut event = json!({
            "resourceType": "AuditEvent",
            "type": {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "RESTful Operation"},
            "subtype": [{"system": RESTFUL_INTERACTION, "code": self.interaction.code()}],
            "action": action,
            "recorded": self
                .recorded
                .format(&Rfc3339)
                .unwrap_or_else(|_| self.recorded.unix_timestamp().to_string()),
            "outcome": self.outcome.code(),
            "agent": self.agents(),
            "source": {
                "observer": {"display": self.observer},
                "type": [{"system": SECURITY_SOURCE_TYPE, "code": "3", "display": "Web Server"}],
            },
        });
        if let Some(description) = &self.outcome_description {
            event["outcomeDesc"] = json!(description);
        }
        let entities = self.entities();
        if !entities.is_empty() {
            event["entity"] = Value::Array(entities);
        }
        event
    }

    /// The client and the user; the user is the requestor when there is one, because the
    /// client then acts on the user's behalf.
    fn agents(&self) -> Vec<Value> {
        let has_user = self.subject.is_some() || self.fhir_user.is_some();
        let mut agents = Vec::new();
        if let Some(client) = &self.client_id {
            agents.push(json!({
                "type": {"coding": [{"system": DICOM, "code": "110150", "display": "Application"}]},
                "who": {"identifier": {"value": client}},
                "requestor": !has_user,
            }));
        }
        if has_user {
            let mut who = json!({});
            if let Some(sub) = &self.subject {
                who["identifier"] = json!({"value": sub});
            }
            if let Some(fhir_user) = &self.fhir_user {
                who["reference"] = json!(fhir_user);
            }
            agents.push(json!({
                "type": {"coding": [{"system": DICOM, "code": "110153", "display": "Source Role ID"}]},
                "who": who,
                "requestor": true,
            }));
        }
        if agents.is_empty() {
            // AuditEvent.agent is required: a request without valid credentials still has one.
            agents.push(json!({"who": {"display": "anonymous"}, "requestor": true}));
        }
        agents
    }

    fn entities(&self) -> Vec<Value> {
        let mut entities = Vec::new();
        if let Some(patient) = &self.patient {
            entities.push(json!({
                "what": {"reference": format!("Patient/{patient}")},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }));
        }
        if let Some(resource_type) = &self.resource_type {
            let mut entity = json!({
                "type": {"system": RESOURCE_TYPES, "code": resource_type},
                "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            });
            if let Some(id) = &self.resource_id {
                entity["what"] = json!({"reference": format!("{resource_type}/{id}")});
            }
            entities.push(entity);
        }
        entities
    }
}

/// Where access decisions are recorded.
pub trait AuditSink: Send + Sync {
    /// Records one decision. A failure to record is returned, so the caller decides whether an
    /// unaudited access may proceed.
    fn record(&self, event: &AccessEvent) -> std::io::Result<()>;
}

/// Writes each event as one `AuditEvent` JSON object per line, to stdout, a file or any writer.
#[derive(Debug)]
pub struct JsonLinesAuditSink<W> {
    out: Mutex<W>,
}

impl<W: Write + Send> JsonLinesAuditSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        JsonLinesAuditSink {
            out: Mutex::new(out),
        }
    }

    /// The writer back, with everything recorded so far.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W: Write + Send> AuditSink for JsonLinesAuditSink<W> {
    fn record(&self, event: &AccessEvent) -> std::io::Result<()> {
        // Serialised before locking, and written with one call, so lines never interleave.
        let mut line = serde_json::to_vec(&event.to_audit_event())?;
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(&line)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> ValidatedToken {
        ValidatedToken {
            issuer: "https://idp.example.org/realms/fhir".to_owned(),
            subject: Some("user-1".to_owned()),
            client_id: Some("smart-app".to_owned()),
            scope: "patient/Observation.rs".to_owned(),
            patient: Some("p123".to_owned()),
            fhir_user: Some("Patient/p123".to_owned()),
            expires_at: 2_000_000_000,
        }
    }

    #[test]
    fn one_line_of_audit_event_json() {
        let sink = JsonLinesAuditSink::new(Vec::new());
        let event = AccessEvent::new("fhir-facade", Interaction::Read, AuditOutcome::Success)
            .with_token(&token())
            .with_resource("Observation", Some("o1".to_owned()));
        sink.record(&event).unwrap();
        sink.record(&event).unwrap();
        let text = String::from_utf8(sink.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let json: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(json["resourceType"], "AuditEvent");
        assert_eq!(json["type"]["code"], "rest");
        assert_eq!(json["subtype"][0]["code"], "read");
        assert_eq!(json["action"], "R");
        assert_eq!(json["outcome"], "0");
        assert_eq!(json["agent"][0]["who"]["identifier"]["value"], "smart-app");
        assert_eq!(json["agent"][0]["requestor"], false);
        assert_eq!(json["agent"][1]["who"]["identifier"]["value"], "user-1");
        assert_eq!(json["agent"][1]["who"]["reference"], "Patient/p123");
        assert_eq!(json["entity"][0]["what"]["reference"], "Patient/p123");
        assert_eq!(json["entity"][1]["what"]["reference"], "Observation/o1");
        assert_eq!(json["source"]["observer"]["display"], "fhir-facade");
        assert!(
            OffsetDateTime::parse(json["recorded"].as_str().unwrap(), &Rfc3339).is_ok(),
            "{json}"
        );
    }

    #[test]
    fn refusals_without_credentials() {
        let event = AccessEvent::new(
            "fhir-facade",
            Interaction::SearchType,
            AuditOutcome::for_status(401),
        )
        .with_resource("Patient", None)
        .with_description("unauthorized: token expired");
        let json = event.to_audit_event();
        assert_eq!(json["outcome"], "4");
        assert_eq!(json["action"], "E");
        assert_eq!(json["outcomeDesc"], "unauthorized: token expired");
        assert_eq!(json["agent"][0]["who"]["display"], "anonymous");
        assert_eq!(json["entity"][0]["type"]["code"], "Patient");
        assert!(json["entity"][0].get("what").is_none());
        assert_eq!(AuditOutcome::for_status(503).code(), "8");
        assert_eq!(AuditOutcome::for_status(200).code(), "0");
    }
}
