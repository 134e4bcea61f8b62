from django.urls import include, path

from alerts_saas.alerts.views import definitions, history, testing

app_name = "alerts"

tenant_urlpatterns = [
    path("", definitions.alert_list, name="list"),
    path("new/", definitions.alert_create, name="create"),
    path("test/", testing.send_test_alert, name="test"),
    path("<int:alert_id>/", history.alert_detail, name="detail"),
    path("<int:alert_id>/live/", history.alert_live, name="live"),
    path("<int:alert_id>/live/targets/", history.alert_firing_targets, name="firing_targets"),
    path("<int:alert_id>/edit/", definitions.alert_edit, name="edit"),
    path("<int:alert_id>/toggle/", definitions.alert_toggle, name="toggle"),
    path("<int:alert_id>/delete/", definitions.alert_delete, name="delete"),
]

urlpatterns = [path("o/<slug:slug>/alerts/", include(tenant_urlpatterns))]
