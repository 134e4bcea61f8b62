from django.urls import include, path

from alerts_saas.alerts.views import definitions, history, mutes, resolve, testing

app_name = "alerts"

tenant_urlpatterns = [
    path("", definitions.alert_list, name="list"),
    path("new/", definitions.alert_create, name="create"),
    path("test/", testing.send_test_alert, name="test"),
    path("<int:alert_id>/", history.alert_detail, name="detail"),
    path("<int:alert_id>/live/", history.alert_live, name="live"),
    path("<int:alert_id>/live/targets/", history.alert_firing_targets, name="firing_targets"),
    path(
        "<int:alert_id>/firings/<int:firing_id>/sent/",
        history.alert_firing_sent,
        name="firing_sent",
    ),
    path("<int:alert_id>/edit/", definitions.alert_edit, name="edit"),
    path("<int:alert_id>/toggle/", definitions.alert_toggle, name="toggle"),
    path("<int:alert_id>/resolve/", resolve.alert_resolve, name="resolve"),
    path("<int:alert_id>/stop-watching/", resolve.alert_stop_watching, name="stop_watching"),
    path("<int:alert_id>/delete/", definitions.alert_delete, name="delete"),
    path("<int:alert_id>/mute/", mutes.alert_mute, name="mute"),
    path("<int:alert_id>/mute/hour/", mutes.alert_mute_hour, name="mute_hour"),
    path("services/<int:pagerduty_service_id>/mute/", mutes.service_mute, name="service_mute"),
    path("mutes/<int:mute_window_id>/end/", mutes.mute_end, name="mute_end"),
]

urlpatterns = [path("o/<slug:slug>/alerts/", include(tenant_urlpatterns))]
