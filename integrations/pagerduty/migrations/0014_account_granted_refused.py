"""When PagerDuty last granted access to an account, and when it refused to refresh it:
the Integrations page says what is known and when. Accounts connected before know only
their first connection (`connected_at`); a refusal already recorded has no time."""

from typing import Any

from django.db import migrations, models
from django.db.models import F


def granted_when_connected(apps: Any, schema_editor: Any) -> None:
    account = apps.get_model("pagerduty", "PagerDutyAccount")
    account.objects.filter(granted_at__isnull=True).update(granted_at=F("connected_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty", "0013_delivery_created_by_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="pagerdutyaccount",
            name="granted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When PagerDuty last granted access (connect or reconnect).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="pagerdutyaccount",
            name="refused_at",
            field=models.DateTimeField(
                blank=True, help_text="When PagerDuty refused to refresh access.", null=True
            ),
        ),
        migrations.RunPython(granted_when_connected, migrations.RunPython.noop),
    ]
