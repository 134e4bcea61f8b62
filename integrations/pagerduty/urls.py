from django.urls import include, path

from integrations.pagerduty.views import connect, fallback, manage, removal, settings

app_name = "pagerduty"

tenant_urlpatterns = [
    path("settings/integrations/", settings.integrations, name="integrations"),
    path("settings/integrations/pagerduty/connect/", connect.authorize, name="authorize"),
    path("settings/integrations/pagerduty/keys/", settings.add_pasted_key, name="add_key"),
    path(
        "settings/integrations/pagerduty/accounts/<int:pagerduty_account_id>/services/",
        connect.select_services,
        name="select_services",
    ),
    path(
        "settings/integrations/pagerduty/accounts/<int:pagerduty_account_id>/services/more/",
        connect.choose_more,
        name="choose_more",
    ),
    path(
        "settings/integrations/pagerduty/accounts/<int:pagerduty_account_id>/services/cancel/",
        connect.cancel_selection,
        name="cancel_selection",
    ),
    path(
        "settings/integrations/pagerduty/accounts/<int:pagerduty_account_id>/disconnect/",
        removal.disconnect,
        name="disconnect",
    ),
    path(
        "settings/integrations/pagerduty/services/<int:pagerduty_service_id>/delete/",
        removal.delete_service,
        name="delete_service",
    ),
    path(
        "settings/integrations/pagerduty/services/<int:pagerduty_service_id>/test/",
        manage.send_test_event,
        name="test_event",
    ),
    path(
        "settings/integrations/pagerduty/services/<int:pagerduty_service_id>/region/",
        settings.change_region,
        name="change_region",
    ),
    path(
        "settings/integrations/pagerduty/services/<int:pagerduty_service_id>/fallback/",
        fallback.set_fallback,
        name="set_fallback",
    ),
    path(
        "settings/integrations/pagerduty/services/<int:pagerduty_service_id>/deliveries/",
        manage.service_deliveries,
        name="service_deliveries",
    ),
    path("pagerduty/deliveries/<int:delivery_id>/", manage.delivery_status, name="delivery"),
    path(
        "pagerduty/deliveries/<int:delivery_id>/resolve/",
        manage.resolve_test_incident,
        name="resolve_test",
    ),
]

urlpatterns = [
    path("integrations/pagerduty/callback", connect.callback, name="callback"),
    path("o/<slug:slug>/", include(tenant_urlpatterns)),
]
