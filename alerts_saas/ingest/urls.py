from django.urls import include, path

from alerts_saas.ingest.views import keys

app_name = "ingest"

tenant_urlpatterns = [
    path("settings/ingest-keys/", keys.keys, name="keys"),
    path("settings/ingest-keys/create/", keys.create, name="create"),
    path("settings/ingest-keys/<int:ingest_key_id>/revoke/", keys.revoke, name="revoke"),
]

urlpatterns = [
    path("o/<slug:slug>/", include(tenant_urlpatterns)),
]
