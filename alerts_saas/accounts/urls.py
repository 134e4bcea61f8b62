from django.urls import include, path

from alerts_saas.accounts.views import former, invitations, members, orgs, profile

app_name = "accounts"

tenant_urlpatterns = [
    path("settings/", orgs.org_settings, name="org_settings"),
    path("settings/leave/", orgs.org_leave, name="org_leave"),
    path(
        "settings/former-names/<int:former_slug_id>/release/", former.release, name="release_slug"
    ),
    path("settings/members/", members.members, name="members"),
    path("settings/members/invite/", members.invite, name="invite"),
    path(
        "settings/members/<int:membership_id>/role/", members.change_member_role, name="member_role"
    ),
    path(
        "settings/members/<int:membership_id>/remove/",
        members.remove_member_view,
        name="member_remove",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
]

urlpatterns = [
    path("profile/", profile.profile, name="profile"),
    path("orgs/new/", orgs.org_create, name="org_create"),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("o/<slug:slug>/", include(tenant_urlpatterns)),
]
