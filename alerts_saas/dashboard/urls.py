from django.urls import include, path

from alerts_saas.dashboard import views

app_name = "dashboard"

tenant_urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/live/", views.live, name="live"),
    path("deliveries/failed/", views.failed_deliveries, name="failed_deliveries"),
]

urlpatterns = [path("o/<slug:slug>/", include(tenant_urlpatterns))]
