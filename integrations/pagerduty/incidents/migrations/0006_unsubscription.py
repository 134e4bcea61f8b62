"""Webhook subscriptions still to delete in PagerDuty after their services went."""

import alerts_saas.crypto
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty", "0015_delivery_service_index"),
        ("pagerduty_incidents", "0005_incident_by_org_key"),
    ]

    operations = [
        migrations.CreateModel(
            name="Unsubscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "organization_ref",
                    models.PositiveBigIntegerField(help_text="The organization's id."),
                ),
                ("subdomain", models.CharField(max_length=100)),
                ("region", models.CharField(max_length=2)),
                ("subscription_ids", models.JSONField(default=list, help_text="Left to delete.")),
                ("access_token", alerts_saas.crypto.EncryptedTextField()),
                ("refresh_token", alerts_saas.crypto.EncryptedTextField()),
                ("expires_at", models.DateTimeField()),
                ("attempts", models.PositiveIntegerField(default=0)),
                (
                    "next_attempt_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                ("last_error", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "account",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="pagerduty.pagerdutyaccount",
                    ),
                ),
            ],
        ),
    ]
