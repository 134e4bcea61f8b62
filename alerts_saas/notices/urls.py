from django.urls import path

from alerts_saas.notices import views

app_name = "notices"

urlpatterns = [
    path("notifications/", views.notification_settings, name="settings"),
    path("o/<slug:slug>/problems/", views.problems, name="problems"),
]
