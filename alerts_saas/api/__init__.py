"""The management API: alerts, services, firings, deliveries and ingest keys under
/api/v1/, for an organization's API tokens, in the same OpenAPI document as the ingest
API (`alerts_saas.ingest.api`, which adds them with `routes.register`)."""
