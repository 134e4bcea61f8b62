from django.urls import include, path

from alerts_saas.org_deletion import views

app_name = "org_deletion"

tenant_urlpatterns = [
    path("settings/delete/", views.org_delete, name="delete"),
    path("settings/delete/disable-firing/", views.disable_firing, name="disable_firing"),
]

urlpatterns = [
    path("o/<slug:slug>/", include(tenant_urlpatterns)),
]
