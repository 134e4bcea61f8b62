"""Deleting one's own account (Your profile → Delete account).

Its own package on top of the others, as `org_deletion` is: an organization where the
person is the only member goes with them, through `org_deletion` (the same rules: refused
while paging is under way), and their other memberships end as leaving does
(`accounts.services.remove_member`). No models, so no migrations and no entry in
INSTALLED_APPS; its pages are templates/accounts/account_delete.html and account_deleted.html.
"""
