//! From a query string (GET) or a form body (POST `_search`) to a typed [`SearchQuery`].

use super::escape;
use super::registry::{self, SearchParamDef, SearchParamType};
use super::{
    Criterion, DateValue, Include, Modifier, NumberValue, PageToken, QuantityValue, ReferenceValue,
    SearchQuery, SearchValue, SortKey, Summary, TokenValue, TotalMode,
};
use crate::{Error, Result};
use std::collections::HashMap;

/// Which search parameters the server supports, per resource type.
///
/// The parser consults it for every parameter, chain and include, so a provider is never handed a
/// criterion it did not declare.
pub trait ParamSource {
    /// The definition of `code` on `resource_type`, if the server supports it there.
    fn param(&self, resource_type: &str, code: &str) -> Option<&'static SearchParamDef>;
}

/// A [`ParamSource`] built from each resource type's declared parameters.
#[derive(Debug, Clone, Default)]
pub struct SupportedParams {
    by_type: HashMap<String, Vec<&'static SearchParamDef>>,
}

impl SupportedParams {
    /// An empty set: every parameter is unknown.
    pub fn new() -> Self {
        SupportedParams::default()
    }

    /// Declares the parameters supported on `resource_type`.
    pub fn insert(
        &mut self,
        resource_type: impl Into<String>,
        params: impl IntoIterator<Item = &'static SearchParamDef>,
    ) {
        self.by_type
            .entry(resource_type.into())
            .or_default()
            .extend(params);
    }

    /// The parameters supported on `resource_type`.
    pub fn for_type(&self, resource_type: &str) -> &[&'static SearchParamDef] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }
}

impl ParamSource for SupportedParams {
    fn param(&self, resource_type: &str, code: &str) -> Option<&'static SearchParamDef> {
        self.for_type(resource_type)
            .iter()
            .copied()
            .find(|p| p.code == code)
    }
}

/// What to do with parameters the server does not know (`Prefer: handling=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handling {
    /// Ignore them and leave them out of the links (the default).
    #[default]
    Lenient,
    /// Reject the search with a 400.
    Strict,
}

/// How to parse a search.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions<'a> {
    /// Strict or lenient handling of unknown parameters.
    pub handling: Handling,
    /// This server's base URL, so that absolute references to it are read as local ones.
    pub base_url: Option<&'a str>,
}

/// Parameters that shape the HTTP exchange, not the search; the HTTP layer reads them.
const TRANSPORT_PARAMS: &[&str] = &["_format", "_pretty"];

/// The most parameters one search may have. Each is a condition of the SQL statement, and
/// databases cap how deep an expression may nest (SQLite: 1,000); real searches have a handful.
/// (How many values they may bind in all is the dialect's to say: `Dialect::max_bind_values`.)
pub const MAX_PARAMETERS: usize = 100;

impl SearchQuery {
    /// Parses an `application/x-www-form-urlencoded` query string or form body.
    pub fn parse(
        resource_type: &str,
        query: &str,
        params: &dyn ParamSource,
        options: &ParseOptions<'_>,
    ) -> Result<SearchQuery> {
        let pairs = form_urlencoded::parse(query.as_bytes()).into_owned();
        SearchQuery::parse_pairs(resource_type, pairs, params, options)
    }

    /// Parses already-decoded `(name, value)` pairs in the order they were written.
    ///
    /// More than [`MAX_PARAMETERS`] pairs is a 400.
    pub fn parse_pairs(
        resource_type: &str,
        pairs: impl IntoIterator<Item = (String, String)>,
        params: &dyn ParamSource,
        options: &ParseOptions<'_>,
    ) -> Result<SearchQuery> {
        let mut parser = Parser {
            query: SearchQuery::new(resource_type),
            params,
            options,
        };
        for (n, (name, value)) in pairs.into_iter().enumerate() {
            if n == MAX_PARAMETERS {
                return Err(Error::BadRequest(format!(
                    "a search takes at most {MAX_PARAMETERS} parameters"
                )));
            }
            parser.pair(&name, &value)?;
        }
        Ok(parser.query)
    }
}

struct Parser<'a> {
    query: SearchQuery,
    params: &'a dyn ParamSource,
    options: &'a ParseOptions<'a>,
}

impl Parser<'_> {
    fn pair(&mut self, name: &str, value: &str) -> Result<()> {
        if TRANSPORT_PARAMS.contains(&name) {
            return Ok(());
        }
        let (base, modifier) = split_modifier(name);
        match base {
            "_count" => self.count(name, value),
            "_sort" => self.sort(name, value),
            "_include" | "_revinclude" => self.include(name, modifier, value),
            "_summary" => self.summary(name, value),
            "_elements" => self.elements(name, value),
            "_total" => self.total(name, value),
            "_offset" | "_cursor" | "_before" => self.page(name, value),
            _ => {
                let resource_type = self.query.resource_type.clone();
                match self.criterion(&resource_type, name, value)? {
                    Some(criterion) => self.query.criteria.push(criterion),
                    None => self.unknown(name)?,
                }
                Ok(())
            }
        }
    }

    fn unknown(&mut self, name: &str) -> Result<()> {
        match self.options.handling {
            Handling::Strict => Err(Error::UnknownParameter {
                param: name.to_owned(),
            }),
            Handling::Lenient => {
                self.query.ignored.push(name.to_owned());
                Ok(())
            }
        }
    }

    /// `Ok(None)`: the parameter is not supported on `resource_type`.
    fn criterion(&self, resource_type: &str, name: &str, value: &str) -> Result<Option<Criterion>> {
        if let Some(rest) = name.strip_prefix("_has:") {
            return self.has(resource_type, name, rest, value);
        }
        if let Some((head, chained)) = name.split_once('.') {
            return self.chain(resource_type, name, head, chained, value);
        }
        let (code, modifier) = split_modifier(name);
        let Some(param) = self.params.param(resource_type, code) else {
            return Ok(None);
        };
        let modifier = match modifier {
            None => None,
            Some(text) => {
                let modifier =
                    Modifier::parse(text).map_err(|msg| Error::invalid_search(name, msg))?;
                if !modifier.allowed_for(param.kind, param.is_identifier()) {
                    return Err(Error::invalid_search(
                        name,
                        format!(
                            "modifier :{} is not allowed on {} parameters",
                            modifier.code(),
                            param.kind.code()
                        ),
                    ));
                }
                Some(modifier)
            }
        };
        if modifier == Some(Modifier::Missing) {
            let missing = match value {
                "true" => true,
                "false" => false,
                _ => return Err(Error::invalid_search(name, ":missing takes true or false")),
            };
            return Ok(Some(Criterion::Missing { param, missing }));
        }
        let values = escape::split(value, ',')
            .into_iter()
            .map(|raw| self.value(resource_type, param, modifier.as_ref(), raw))
            .collect::<std::result::Result<Vec<_>, String>>()
            .map_err(|msg| Error::invalid_search(name, msg))?;
        Ok(Some(Criterion::Values {
            param,
            modifier,
            values,
        }))
    }

    fn value(
        &self,
        resource_type: &str,
        param: &'static SearchParamDef,
        modifier: Option<&Modifier>,
        raw: &str,
    ) -> std::result::Result<SearchValue, String> {
        if raw.is_empty() {
            return Err("empty value".to_owned());
        }
        Ok(match (param.kind, modifier) {
            (SearchParamType::Token, Some(Modifier::Text | Modifier::In | Modifier::NotIn))
            | (SearchParamType::String | SearchParamType::Uri | SearchParamType::Special, _) => {
                SearchValue::String(escape::unescape(raw))
            }
            (SearchParamType::Token, Some(Modifier::OfType)) => {
                let (system, code, value) = TokenValue::parse_of_type(raw)?;
                SearchValue::OfType {
                    system,
                    code,
                    value,
                }
            }
            (SearchParamType::Token, _)
            | (SearchParamType::Reference, Some(Modifier::Identifier)) => {
                SearchValue::Token(TokenValue::parse(raw)?)
            }
            (SearchParamType::Reference, modifier) => {
                let type_modifier = match modifier {
                    Some(Modifier::Type(t)) => Some(t.as_str()),
                    _ => None,
                };
                SearchValue::Reference(ReferenceValue::parse(
                    raw,
                    self.options.base_url,
                    type_modifier,
                )?)
            }
            (SearchParamType::Date, _) => SearchValue::Date(DateValue::parse(raw)?),
            (SearchParamType::Number, _) => SearchValue::Number(NumberValue::parse(raw)?),
            (SearchParamType::Quantity, _) => SearchValue::Quantity(QuantityValue::parse(raw)?),
            (SearchParamType::Composite, _) => {
                let parts = escape::split(raw, '$');
                if parts.len() != param.components.len() {
                    return Err(format!(
                        "{} takes {} components separated by $",
                        param.code,
                        param.components.len()
                    ));
                }
                let components = param
                    .components
                    .iter()
                    .zip(parts)
                    .map(|(component, part)| {
                        let def = self
                            .params
                            .param(resource_type, component.code)
                            .or_else(|| registry::r4_param(resource_type, component.code))
                            .ok_or_else(|| format!("unknown component {}", component.code))?;
                        self.value(resource_type, def, None, part)
                    })
                    .collect::<std::result::Result<Vec<_>, String>>()?;
                SearchValue::Composite(components)
            }
        })
    }

    /// `subject:Patient.name=peter`: follow a reference, then search the target.
    fn chain(
        &self,
        resource_type: &str,
        name: &str,
        head: &str,
        chained: &str,
        value: &str,
    ) -> Result<Option<Criterion>> {
        let (code, modifier) = split_modifier(head);
        let Some(param) = self.params.param(resource_type, code) else {
            return Ok(None);
        };
        if param.kind != SearchParamType::Reference {
            return Err(Error::invalid_search(
                name,
                format!("{code} is not a reference and cannot be chained"),
            ));
        }
        let chained_code = split_modifier(chained.split('.').next().unwrap_or(chained)).0;
        let target_type = match modifier {
            Some(t) => {
                if !param.targets.contains(&t) {
                    return Err(Error::invalid_search(
                        name,
                        format!("{code} cannot refer to {t}"),
                    ));
                }
                t.to_owned()
            }
            None => {
                let candidates: Vec<&str> = param
                    .targets
                    .iter()
                    .copied()
                    .filter(|t| self.params.param(t, chained_code).is_some())
                    .collect();
                match candidates.as_slice() {
                    [only] => (*only).to_owned(),
                    [] => return Ok(None),
                    _ => {
                        return Err(Error::UnsupportedSearch {
                            param: name.to_owned(),
                            message: format!(
                                "{code} can refer to {}; name the type, as in {code}:{}.{chained}",
                                candidates.join(", "),
                                candidates[0]
                            ),
                        });
                    }
                }
            }
        };
        Ok(self
            .criterion(&target_type, chained, value)?
            .map(|inner| Criterion::Chain {
                param,
                target_type,
                inner: Box::new(inner),
            }))
    }

    /// `_has:Observation:patient:code=1234`.
    fn has(
        &self,
        resource_type: &str,
        name: &str,
        rest: &str,
        value: &str,
    ) -> Result<Option<Criterion>> {
        let mut parts = rest.splitn(3, ':');
        let (Some(source_type), Some(code), Some(inner_name)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::invalid_search(
                name,
                "_has takes the form _has:Type:reference:parameter",
            ));
        };
        let Some(param) = self.params.param(source_type, code) else {
            return Ok(None);
        };
        if param.kind != SearchParamType::Reference || !param.targets.contains(&resource_type) {
            return Err(Error::invalid_search(
                name,
                format!("{source_type}.{code} does not refer to {resource_type}"),
            ));
        }
        Ok(self
            .criterion(source_type, inner_name, value)?
            .map(|inner| Criterion::Has {
                source_type: source_type.to_owned(),
                param,
                inner: Box::new(inner),
            }))
    }

    fn count(&mut self, name: &str, value: &str) -> Result<()> {
        let count: u32 = value
            .parse()
            .map_err(|_| Error::invalid_search(name, "_count takes a non-negative integer"))?;
        self.query.result.count = Some(count);
        if count == 0 {
            self.query.result.summary = Some(Summary::Count);
        }
        Ok(())
    }

    fn sort(&mut self, name: &str, value: &str) -> Result<()> {
        for key in value.split(',') {
            let (code, descending) = match key.strip_prefix('-') {
                Some(code) => (code, true),
                None => (key, false),
            };
            if code.is_empty() {
                return Err(Error::invalid_search(name, "empty sort key"));
            }
            match self.params.param(&self.query.resource_type, code) {
                Some(param) => self.query.result.sort.push(SortKey { param, descending }),
                None => self.unknown(&format!("_sort={key}"))?,
            }
        }
        Ok(())
    }

    fn include(&mut self, name: &str, modifier: Option<&str>, value: &str) -> Result<()> {
        let reverse = name.starts_with("_revinclude");
        let iterate = match modifier {
            None => false,
            Some("iterate" | "recurse") => true,
            Some(other) => {
                return Err(Error::invalid_search(
                    name,
                    format!("unknown modifier :{other}"),
                ));
            }
        };
        let mut parts = value.split(':');
        let (Some(source_type), Some(code)) = (parts.next(), parts.next()) else {
            return Err(Error::invalid_search(
                name,
                "takes the form SourceType:parameter[:TargetType]",
            ));
        };
        let target_type = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return Err(Error::invalid_search(
                name,
                "takes the form SourceType:parameter[:TargetType]",
            ));
        }
        let Some(param) = self.params.param(source_type, code) else {
            return self.unknown(&format!("{name}={value}"));
        };
        if param.kind != SearchParamType::Reference {
            return Err(Error::invalid_search(
                name,
                format!("{source_type}:{code} is not a reference"),
            ));
        }
        if let Some(target) = &target_type {
            if !param.targets.contains(&target.as_str()) {
                return Err(Error::invalid_search(
                    name,
                    format!("{source_type}:{code} cannot refer to {target}"),
                ));
            }
        }
        let searched = self.query.resource_type.as_str();
        let fits = if reverse {
            // A reverse include names the referring type; it must be able to point at the match.
            iterate
                || target_type.as_deref().unwrap_or(searched) == searched
                    && param.targets.contains(&searched)
        } else {
            iterate || source_type == searched
        };
        if !fits {
            return Err(Error::invalid_search(
                name,
                format!("{value} does not apply to a search of {searched}"),
            ));
        }
        let include = Include {
            source_type: source_type.to_owned(),
            param,
            target_type,
            iterate,
        };
        if reverse {
            self.query.result.revinclude.push(include);
        } else {
            self.query.result.include.push(include);
        }
        Ok(())
    }

    fn summary(&mut self, name: &str, value: &str) -> Result<()> {
        let summary = match value {
            "true" => Summary::True,
            "text" => Summary::Text,
            "data" => Summary::Data,
            "count" => Summary::Count,
            "false" => Summary::False,
            _ => {
                return Err(Error::invalid_search(
                    name,
                    "_summary takes true, text, data, count or false",
                ));
            }
        };
        self.query.result.summary = Some(summary);
        Ok(())
    }

    fn elements(&mut self, name: &str, value: &str) -> Result<()> {
        for element in value.split(',').map(str::trim) {
            if element.is_empty() || !element.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::invalid_search(
                    name,
                    format!("{element:?} is not an element name"),
                ));
            }
            self.query.result.elements.push(element.to_owned());
        }
        Ok(())
    }

    fn total(&mut self, name: &str, value: &str) -> Result<()> {
        self.query.result.total = Some(match value {
            "none" => TotalMode::None,
            "estimate" => TotalMode::Estimate,
            "accurate" => TotalMode::Accurate,
            _ => {
                return Err(Error::invalid_search(
                    name,
                    "_total takes none, estimate or accurate",
                ));
            }
        });
        Ok(())
    }

    fn page(&mut self, name: &str, value: &str) -> Result<()> {
        if name == "_offset" {
            let offset = value
                .parse()
                .map_err(|_| Error::invalid_search(name, "_offset takes a non-negative integer"))?;
            self.query.result.page = Some(PageToken::Offset(offset));
            return Ok(());
        }
        if value.is_empty()
            || value.len() > 4096
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid_search(name, "malformed paging cursor"));
        }
        let token = match name {
            "_before" => PageToken::Before(value.to_owned()),
            _ => PageToken::Cursor(value.to_owned()),
        };
        self.query.result.page = Some(token);
        Ok(())
    }
}

/// `family:exact` → (`family`, Some(`exact`)).
fn split_modifier(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((code, modifier)) => (code, Some(modifier)),
        None => (name, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::registry::r4_params;
    use crate::search::{ReferenceValue, TokenSystem};

    const BASE: &str = "https://fhir.example.org/fhir";

    fn supported() -> SupportedParams {
        let mut params = SupportedParams::new();
        for t in [
            "Patient",
            "Observation",
            "MedicationRequest",
            "Medication",
            "Encounter",
        ] {
            params.insert(t, r4_params(t));
        }
        params
    }

    fn parse_with(resource_type: &str, query: &str, handling: Handling) -> Result<SearchQuery> {
        let options = ParseOptions {
            handling,
            base_url: Some(BASE),
        };
        SearchQuery::parse(resource_type, query, &supported(), &options)
    }

    fn parse(resource_type: &str, query: &str) -> SearchQuery {
        parse_with(resource_type, query, Handling::Lenient)
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    fn rejects(resource_type: &str, query: &str) -> Error {
        let err = parse_with(resource_type, query, Handling::Lenient).unwrap_err();
        assert_eq!(err.status(), 400, "{query}: {err}");
        err
    }

    fn values(criterion: &Criterion) -> (&str, Option<&Modifier>, &[SearchValue]) {
        match criterion {
            Criterion::Values {
                param,
                modifier,
                values,
            } => (param.code, modifier.as_ref(), values),
            other => panic!("not a value criterion: {other:?}"),
        }
    }

    #[test]
    fn repeated_parameters_are_and_commas_are_or() {
        let q = parse("Patient", "given=eve,jose");
        assert_eq!(q.criteria.len(), 1);
        assert_eq!(values(&q.criteria[0]).2.len(), 2);
        let q = parse("Patient", "given=eve&given=jose");
        assert_eq!(q.criteria.len(), 2);
    }

    #[test]
    fn a_search_has_a_bounded_number_of_parameters() {
        let repeated = |n: usize| vec!["gender=female"; n].join("&");
        assert_eq!(
            parse("Patient", &repeated(MAX_PARAMETERS)).criteria.len(),
            MAX_PARAMETERS
        );
        let err = rejects("Patient", &repeated(MAX_PARAMETERS + 1));
        assert!(err.to_string().contains("at most"), "{err}");
    }

    #[test]
    fn string_modifiers_and_escapes() {
        let q = parse("Patient", "family:exact=M%C3%BCller&family=a%5C,b");
        let (code, modifier, vals) = values(&q.criteria[0]);
        assert_eq!((code, modifier), ("family", Some(&Modifier::Exact)));
        assert_eq!(vals, [SearchValue::String("Müller".into())]);
        // An escaped comma is part of the value, not an OR.
        assert_eq!(
            values(&q.criteria[1]).2,
            [SearchValue::String("a,b".into())]
        );
    }

    #[test]
    fn token_forms() {
        let q = parse(
            "Patient",
            "identifier=|123&identifier=http://hosp/mrn|&gender:not=male",
        );
        assert_eq!(
            values(&q.criteria[0]).2,
            [SearchValue::Token(TokenValue {
                system: TokenSystem::NoSystem,
                code: Some("123".into())
            })]
        );
        assert_eq!(
            values(&q.criteria[1]).2,
            [SearchValue::Token(TokenValue {
                system: TokenSystem::System("http://hosp/mrn".into()),
                code: None
            })]
        );
        assert_eq!(values(&q.criteria[2]).1, Some(&Modifier::Not));
    }

    #[test]
    fn of_type_and_text() {
        let q = parse(
            "Patient",
            "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|123",
        );
        assert_eq!(
            values(&q.criteria[0]).2,
            [SearchValue::OfType {
                system: "http://terminology.hl7.org/CodeSystem/v2-0203".into(),
                code: "MR".into(),
                value: "123".into()
            }]
        );
        let q = parse("Observation", "code:text=potassium");
        assert_eq!(
            values(&q.criteria[0]).2,
            [SearchValue::String("potassium".into())]
        );
    }

    #[test]
    fn missing_takes_a_boolean() {
        let q = parse("Patient", "gender:missing=true");
        assert!(matches!(
            q.criteria[0],
            Criterion::Missing { missing: true, .. }
        ));
        rejects("Patient", "gender:missing=maybe");
    }

    #[test]
    fn bad_modifiers_prefixes_and_values_are_400_in_both_modes() {
        for query in [
            "family:fuzzy=x",
            "birthdate:exact=1980",
            "birthdate=31-12-2019",
            "birthdate=xx1980",
            "value-quantity=5|a|b|c",
            "_count=abc",
            "_count=-1",
            "_summary=maybe",
            "_total=all",
            "_sort=",
            "_offset=x",
            "_cursor=not%20a%20cursor",
            "family=",
        ] {
            let resource_type = if query.starts_with("value") {
                "Observation"
            } else {
                "Patient"
            };
            rejects(resource_type, query);
            let strict = parse_with(resource_type, query, Handling::Strict).unwrap_err();
            assert_eq!(strict.status(), 400, "{query}");
        }
    }

    #[test]
    fn unknown_parameters_depend_on_handling() {
        let q = parse("Patient", "bonkers=1&family=x");
        assert_eq!(q.ignored, ["bonkers"]);
        assert_eq!(q.to_query_string(), "family=x");
        let err = parse_with("Patient", "bonkers=1", Handling::Strict).unwrap_err();
        assert!(matches!(err, Error::UnknownParameter { .. }));
        // Transport parameters are neither criteria nor unknown.
        let q = parse_with("Patient", "_format=json&_pretty=true", Handling::Strict).unwrap();
        assert!(q.criteria.is_empty() && q.ignored.is_empty());
    }

    #[test]
    fn references_in_every_form() {
        for query in [
            "patient=p1",
            "patient=Patient/p1",
            "subject:Patient=p1",
            "patient=https://fhir.example.org/fhir/Patient/p1",
        ] {
            let q = parse("Observation", query);
            match &values(&q.criteria[0]).2[0] {
                SearchValue::Reference(ReferenceValue::Local { id, .. }) => assert_eq!(id, "p1"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn composite_values_are_typed_per_component() {
        let q = parse(
            "Observation",
            "component-code-value-quantity=http://loinc.org|8462-4$lt60",
        );
        let SearchValue::Composite(parts) = &values(&q.criteria[0]).2[0] else {
            panic!("not composite");
        };
        assert!(matches!(parts[0], SearchValue::Token(_)));
        let SearchValue::Quantity(quantity) = &parts[1] else {
            panic!("not a quantity");
        };
        assert_eq!(quantity.number.prefix, crate::search::Prefix::Lt);
        rejects(
            "Observation",
            "component-code-value-quantity=http://loinc.org|8462-4",
        );
    }

    #[test]
    fn chains_and_reverse_chains() {
        let q = parse(
            "Observation",
            "subject:Patient.name=peter&patient.birthdate=ge1980",
        );
        let Criterion::Chain {
            param,
            target_type,
            inner,
        } = &q.criteria[0]
        else {
            panic!("not a chain");
        };
        assert_eq!((param.code, target_type.as_str()), ("subject", "Patient"));
        assert_eq!(values(inner).0, "name");
        assert!(
            matches!(&q.criteria[1], Criterion::Chain { target_type, .. } if target_type == "Patient")
        );
        let q = parse("Patient", "_has:Observation:patient:code=1234-5");
        let Criterion::Has {
            source_type,
            param,
            inner,
        } = &q.criteria[0]
        else {
            panic!("not _has");
        };
        assert_eq!(
            (source_type.as_str(), param.code),
            ("Observation", "patient")
        );
        assert_eq!(values(inner).0, "code");
        rejects("Patient", "family.name=x");
        rejects("Patient", "_has:Observation:code");
    }

    #[test]
    fn result_parameters() {
        let q = parse(
            "MedicationRequest",
            "patient=p1&_sort=-authoredon,_id&_count=5&_include=MedicationRequest:medication\
             &_revinclude:iterate=Observation:subject&_elements=id,status&_total=accurate",
        );
        assert_eq!(q.result.count, Some(5));
        assert_eq!(q.result.sort.len(), 2);
        assert!(q.result.sort[0].descending);
        assert_eq!(q.result.include[0].param.code, "medication");
        assert!(q.result.revinclude[0].iterate);
        assert_eq!(q.result.elements, ["id", "status"]);
        assert_eq!(q.result.total, Some(TotalMode::Accurate));
        let q = parse("Observation", "_count=0");
        assert_eq!(q.result.summary, Some(Summary::Count));
        rejects("Observation", "_include=Observation:code");
        rejects("Observation", "_include=Patient:link");
        rejects("Observation", "_revinclude=Observation:subject");
    }

    #[test]
    fn rendering_is_canonical_and_parses_back() {
        for query in [
            "family:exact=M%C3%BCller&given=eve,jose&birthdate=ge1980-06&_count=10",
            "identifier=http%3A%2F%2Fhosp%2Fmrn%7C123&gender:missing=false",
            "_has:Observation:patient:code=1234-5&_sort=-birthdate&_total=accurate",
        ] {
            let q = parse("Patient", query);
            let rendered = q.to_query_string();
            assert_eq!(parse("Patient", &rendered), q, "{query} → {rendered}");
        }
        let q = parse(
            "Observation",
            "date=lt2020-01-01T05:00:00%2B00:00&value-quantity=5.4|http://unitsofmeasure.org|mmol/L",
        );
        assert_eq!(parse("Observation", &q.to_query_string()), q);
    }

    #[test]
    fn post_form_bodies_parse_like_query_strings() {
        let q = parse("Observation", "patient=p1&category=laboratory");
        assert_eq!(q.criteria.len(), 2);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
                let text = String::from_utf8_lossy(&bytes);
                for handling in [Handling::Lenient, Handling::Strict] {
                    let _ = parse_with("Observation", &text, handling);
                }
            }

            #[test]
            fn parsing_structured_noise_never_panics(
                pairs in proptest::collection::vec(
                    (prop::sample::select(vec![
                        "family", "family:exact", "birthdate", "gender:not", "identifier:of-type",
                        "_has:Observation:patient:code", "general-practitioner:Practitioner.name",
                        "_include", "_revinclude:iterate", "_sort", "_count", "_elements",
                        "link", "_id", "_lastUpdated", "name:contains", "telecom:missing",
                    ]), "[-a-zA-Z0-9|$,:./\\\\%_ ]{0,24}"),
                    0..6,
                )
            ) {
                let pairs: Vec<(String, String)> =
                    pairs.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
                let _ = SearchQuery::parse_pairs(
                    "Patient",
                    pairs,
                    &supported(),
                    &ParseOptions { handling: Handling::Lenient, base_url: Some(BASE) },
                );
            }

            #[test]
            fn valid_queries_render_and_parse_back(
                criteria in proptest::collection::vec(valid_pair(), 1..5),
                count in proptest::option::of(1u32..500),
                descending in any::<bool>(),
            ) {
                let mut pairs: Vec<(String, String)> = criteria;
                if let Some(count) = count {
                    pairs.push(("_count".to_owned(), count.to_string()));
                }
                pairs.push(("_sort".to_owned(), format!("{}birthdate", if descending { "-" } else { "" })));
                let options = ParseOptions { handling: Handling::Strict, base_url: Some(BASE) };
                let q = SearchQuery::parse_pairs("Patient", pairs, &supported(), &options).unwrap();
                let again = SearchQuery::parse("Patient", &q.to_query_string(), &supported(), &options).unwrap();
                prop_assert_eq!(again, q);
            }
        }

        fn valid_pair() -> impl Strategy<Value = (String, String)> {
            prop_oneof![
                "\\PC{1,12}".prop_map(|s| ("family".to_owned(), crate::search::escape::escape(&s))),
                "[a-z]{1,8}".prop_map(|s| ("given:contains".to_owned(), s)),
                (
                    1900i32..2100,
                    1u8..13,
                    prop::sample::select(vec!["", "ge", "lt", "sa", "eb", "ne"])
                )
                    .prop_map(|(y, m, p)| ("birthdate".to_owned(), format!("{p}{y}-{m:02}"))),
                ("[a-z:/.]{1,10}", "[A-Z0-9]{1,6}")
                    .prop_map(|(s, c)| ("identifier".to_owned(), format!("{s}|{c}"))),
                prop::sample::select(vec!["male", "female", "other", "unknown"])
                    .prop_map(|g| ("gender".to_owned(), g.to_owned())),
                any::<bool>().prop_map(|b| ("gender:missing".to_owned(), b.to_string())),
                "[A-Za-z0-9]{1,10}"
                    .prop_map(|id| ("general-practitioner:Practitioner".to_owned(), id)),
            ]
        }
    }
}
