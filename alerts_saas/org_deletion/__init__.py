"""Deleting an organization (Settings → General → Delete this organization, owners only).

Its own package on top of the others: deleting counts and removes what every app keeps
(alerts, ingest keys, the activity log, PagerDuty's services and webhook subscriptions), so
it imports them all, while `accounts`, the base app, imports none of them. No models, so no
migrations and no entry in INSTALLED_APPS; its page is templates/accounts/org_delete.html.
"""
