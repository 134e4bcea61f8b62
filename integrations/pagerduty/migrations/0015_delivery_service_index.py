"""A service's deliveries indexed with their organization: the API's lists filtered by
service (always of one organization) no longer read each row to check it. The new index is
made before the old one goes, so a service's history is never without one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty", "0014_account_granted_refused"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                fields=["service", "organization", "-created_at"],
                name="pagerduty_delivery_service",
            ),
        ),
        migrations.RemoveIndex(
            model_name="delivery",
            name="pagerduty_d_service_17fa2f_idx",
        ),
    ]
