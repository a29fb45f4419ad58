//! Reads and writes of single resources, plain and conditional.

use super::Facade;
use super::confine::{check_writable, visible};
use crate::provider::{Interaction, Updated};
use crate::{Context, Error, Resource, Result};

impl Facade {
    /// `GET [base]/[type]/[id]`.
    pub async fn read(&self, resource_type: &str, id: &str, ctx: &Context) -> Result<Resource> {
        let provider = self.provider_for(resource_type, Interaction::Read)?;
        let ctx = self.scoped(ctx, resource_type, Interaction::Read)?;
        let resource = provider.read(id, &ctx).await?;
        visible(resource, &ctx, id)
    }

    /// `GET [base]/[type]/[id]/_history/[vid]`.
    pub async fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version_id: &str,
        ctx: &Context,
    ) -> Result<Resource> {
        let provider = self.provider_for(resource_type, Interaction::Vread)?;
        let ctx = self.scoped(ctx, resource_type, Interaction::Vread)?;
        let resource = provider.vread(id, version_id, &ctx).await?;
        visible(resource, &ctx, id)
    }

    /// `POST [base]/[type]`, with `If-None-Exist` when `if_none_exist` is given.
    pub async fn create(
        &self,
        resource_type: &str,
        mut resource: Resource,
        if_none_exist: Option<&str>,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Updated> {
        let provider = self.provider_for(resource_type, Interaction::Create)?;
        check_type(resource_type, &resource)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Create)?;
        check_writable(&resource, ctx, Some(base_url))?;
        // The server assigns ids on create; a client id in the body is ignored (FHIR http.html).
        resource.remove_id();
        match if_none_exist {
            None => Ok(Updated {
                resource: provider.create(resource, ctx).await?,
                created: true,
            }),
            Some(criteria) => {
                self.provider_for(resource_type, Interaction::SearchType)?;
                let query = self.parse_conditional(resource_type, criteria, base_url)?;
                provider.conditional_create(&query, resource, ctx).await
            }
        }
    }

    /// `PUT [base]/[type]/[id]`, with `If-Match` when `if_match` is given.
    pub async fn update(
        &self,
        resource_type: &str,
        id: &str,
        resource: Resource,
        if_match: Option<String>,
        ctx: &Context,
    ) -> Result<Updated> {
        let provider = self.provider_for(resource_type, Interaction::Update)?;
        check_type(resource_type, &resource)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Update)?;
        check_writable(&resource, ctx, None)?;
        if resource.id() != Some(id) {
            return Err(Error::BadRequest(format!(
                "the resource's id must be {id}, the id in the URL"
            )));
        }
        provider.update(id, resource, if_match, ctx).await
    }

    /// `PUT [base]/[type]?criteria`.
    pub async fn conditional_update(
        &self,
        resource_type: &str,
        criteria: &str,
        resource: Resource,
        base_url: &str,
        ctx: &Context,
    ) -> Result<Updated> {
        let provider = self.provider_for(resource_type, Interaction::Update)?;
        self.provider_for(resource_type, Interaction::SearchType)?;
        check_type(resource_type, &resource)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Update)?;
        check_writable(&resource, ctx, Some(base_url))?;
        let query = self.parse_conditional(resource_type, criteria, base_url)?;
        provider.conditional_update(&query, resource, ctx).await
    }

    /// `DELETE [base]/[type]/[id]`.
    pub async fn delete(&self, resource_type: &str, id: &str, ctx: &Context) -> Result<()> {
        let provider = self.provider_for(resource_type, Interaction::Delete)?;
        let ctx = self.scoped(ctx, resource_type, Interaction::Delete)?;
        provider.delete(id, &ctx).await
    }

    /// `DELETE [base]/[type]?criteria`.
    pub async fn conditional_delete(
        &self,
        resource_type: &str,
        criteria: &str,
        base_url: &str,
        ctx: &Context,
    ) -> Result<()> {
        let provider = self.provider_for(resource_type, Interaction::Delete)?;
        self.provider_for(resource_type, Interaction::SearchType)?;
        let ctx = &self.scoped(ctx, resource_type, Interaction::Delete)?;
        let query = self.parse_conditional(resource_type, criteria, base_url)?;
        provider.conditional_delete(&query, ctx).await
    }
}

fn check_type(resource_type: &str, resource: &Resource) -> Result<()> {
    if resource.resource_type() == resource_type {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "a {} was sent to the {resource_type} endpoint",
            resource.resource_type()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::provider::{Interaction, Interactions, Updated};
    use crate::{Context, Error, Facade, Resource, ResourceProvider, Result};
    use async_trait::async_trait;
    use serde_json::json;

    /// A provider that declares writes, for the write paths' checks.
    struct Writable;

    #[async_trait]
    impl ResourceProvider for Writable {
        fn resource_type(&self) -> &str {
            "Patient"
        }

        fn interactions(&self) -> Interactions {
            [Interaction::Read, Interaction::Create, Interaction::Update]
                .into_iter()
                .collect()
        }

        async fn read(&self, id: &str, _ctx: &Context) -> Result<Resource> {
            Err(Error::NotFound {
                resource_type: "Patient".into(),
                id: id.into(),
            })
        }

        async fn create(&self, mut resource: Resource, _ctx: &Context) -> Result<Resource> {
            assert!(
                resource.id().is_none(),
                "the client's id reaches the provider"
            );
            resource.set_id("new");
            Ok(resource)
        }

        async fn update(
            &self,
            _id: &str,
            resource: Resource,
            _if_match: Option<String>,
            _ctx: &Context,
        ) -> Result<Updated> {
            Ok(Updated {
                resource,
                created: false,
            })
        }
    }

    #[tokio::test]
    async fn writes_check_type_and_id() {
        let facade = Facade::builder().provider(Writable).build().unwrap();
        let ctx = Context::new();
        let with_id = Resource::new(json!({"resourceType": "Patient", "id": "client"})).unwrap();
        let created = facade
            .create("Patient", with_id.clone(), None, BASE, &ctx)
            .await
            .unwrap();
        assert_eq!(created.resource.id(), Some("new"));
        let wrong_type = Resource::new(json!({"resourceType": "Observation"})).unwrap();
        let err = facade
            .create("Patient", wrong_type, None, BASE, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        let err = facade
            .update("Patient", "other", with_id, None, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        // A patient-scoped token cannot write outside its compartment.
        let p1 = token("patient/Patient.cruds", Some("p1"));
        let other = Resource::new(json!({"resourceType": "Patient", "id": "p2"})).unwrap();
        let err = facade
            .update("Patient", "p2", other, None, &p1)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        let own = Resource::new(json!({"resourceType": "Patient", "id": "p1"})).unwrap();
        assert!(facade.update("Patient", "p1", own, None, &p1).await.is_ok());
        // Conditional writes need search, which this provider does not declare.
        let patient = Resource::new(json!({"resourceType": "Patient"})).unwrap();
        let err = facade
            .create("Patient", patient, Some("identifier=1"), BASE, &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 405);
    }
}
