from django.urls import path

from alerts_saas.account_deletion import views

app_name = "account_deletion"

urlpatterns = [
    path("profile/delete/", views.delete_account, name="delete"),
    path("account-deleted/", views.deleted, name="deleted"),
]
