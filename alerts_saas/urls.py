"""Top-level URLs. Tenant pages live under /o/<slug>/ in each app's own urls module."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from alerts_saas.accounts import two_factor
from alerts_saas.accounts.views import email_addresses, email_confirmation
from alerts_saas.accounts.views.orgs import home
from alerts_saas.health.views import healthz
from alerts_saas.ingest.api import api

# Staff sign in where everyone does (allauth: two-factor, its rate limits, a locked-out
# account staying out); the admin's own password-only form would skip all three.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    # allauth's set-up of an app, noting that this session set it up (accounts.two_factor).
    path("accounts/2fa/totp/activate/", two_factor.activate_totp, name="mfa_activate_totp"),
    # allauth's email addresses, offering for each only what does something for it.
    path("accounts/email/", email_addresses.email, name="account_email"),
    # allauth's confirmation page, telling a link whose address is confirmed now as such.
    path(
        "accounts/confirm-email/<str:key>/",
        email_confirmation.confirm_email,
        name="account_confirm_email",
    ),
    path(
        "accounts/confirm-email-again/",
        email_confirmation.send_link_again,
        name="account_send_link_again",
    ),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("alerts_saas.accounts.urls")),
    path("", include("integrations.pagerduty.urls")),
    path("", include("integrations.pagerduty.incidents.urls")),
    path("", include("alerts_saas.alerts.urls")),
    path("", include("alerts_saas.ingest.urls")),
    path("", include("alerts_saas.dashboard.urls")),
    path("", include("alerts_saas.notices.urls")),
    path("", include("alerts_saas.audit.urls")),
    path("", include("alerts_saas.org_deletion.urls")),
    path("", include("alerts_saas.account_deletion.urls")),
]

handler400 = "alerts_saas.errors.bad_request"
handler403 = "alerts_saas.errors.permission_denied"
handler404 = "alerts_saas.errors.page_not_found"
handler500 = "alerts_saas.errors.server_error"
