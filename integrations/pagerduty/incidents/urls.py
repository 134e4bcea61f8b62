from django.urls import path

from integrations.pagerduty.incidents import actions, views

app_name = "pagerduty_incidents"

urlpatterns = [
    path("integrations/pagerduty/webhooks/<str:token>", views.receive, name="receive"),
    *(
        path(
            f"o/<slug:slug>/incidents/<int:incident_id>/{action}/",
            actions.act,
            {"action": action},
            name=action,
        )
        for action in ("acknowledge", "resolve", "note")
    ),
]
