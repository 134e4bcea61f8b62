from django.urls import include, path

from alerts_saas.ingest.views import keys, tokens

app_name = "ingest"

tenant_urlpatterns = [
    path("settings/ingest-keys/", keys.keys, name="keys"),
    path("settings/ingest-keys/create/", keys.create, name="create"),
    path("settings/ingest-keys/<int:ingest_key_id>/revoke/", keys.revoke, name="revoke"),
    path("settings/api-tokens/", tokens.tokens, name="tokens"),
    path("settings/api-tokens/create/", tokens.create, name="create_token"),
    path("settings/api-tokens/<int:api_token_id>/revoke/", tokens.revoke, name="revoke_token"),
]

urlpatterns = [
    path("o/<slug:slug>/", include(tenant_urlpatterns)),
]
