"""Webhooks are kept once per PagerDuty event (`event.id`, in the signed body), not per
`X-Webhook-Id` (a header no signature covers). Rows kept before keep their header's value:
their events are older than any retry PagerDuty still makes within a couple of days."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty_incidents", "0009_on_call_urgency_rule"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="incidentactivity",
            name="webhook_once_per_org",
        ),
        migrations.RenameField(
            model_name="incidentactivity",
            old_name="webhook_id",
            new_name="event_id",
        ),
        migrations.AlterField(
            model_name="incidentactivity",
            name="event_id",
            field=models.CharField(
                blank=True, help_text="PagerDuty's event.id (a webhook's).", max_length=100
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentactivity",
            constraint=models.UniqueConstraint(
                condition=models.Q(("event_id", ""), _negated=True),
                fields=("organization", "event_id"),
                name="event_once_per_org",
            ),
        ),
    ]
