from django.urls import path

from integrations.pagerduty.incidents import actions, views

app_name = "pagerduty_incidents"

urlpatterns = [
    path("integrations/pagerduty/webhooks/<str:token>", views.receive, name="receive"),
    path(
        "o/<slug:slug>/incidents/<int:incident_id>/<any(acknowledge,resolve,note):action>",
        actions.act,
        name="act",
    ),
]
