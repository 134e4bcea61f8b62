from django.urls import include, path

from alerts_saas.audit import views

app_name = "audit"

tenant_urlpatterns = [
    path("settings/activity/", views.activity, name="activity"),
]

urlpatterns = [
    path("o/<slug:slug>/", include(tenant_urlpatterns)),
]
