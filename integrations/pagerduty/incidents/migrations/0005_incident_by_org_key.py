"""Incidents by (organization, dedup key), as deliveries are: the incidents of a page's
deliveries are found by their keys without scanning the organization's incidents."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty_incidents", "0004_who_resolved"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["organization", "dedup_key"], name="incident_by_org_key"),
        ),
    ]
