from django.urls import path

from integrations.pagerduty.incidents import views

app_name = "pagerduty_incidents"

urlpatterns = [
    path("integrations/pagerduty/webhooks/<str:token>", views.receive, name="receive"),
]
