"""A keyed hash of each service's integration key, so a key pasted twice is found without
decrypting every row; existing rows get theirs here."""

from typing import Any

from django.db import migrations, models


def fill_digests(apps: Any, schema_editor: Any) -> None:
    from integrations.pagerduty.models import integration_key_digest

    service_model = apps.get_model("pagerduty", "PagerDutyService")
    for service in service_model.objects.only("pk", "integration_key").iterator():
        service_model.objects.filter(pk=service.pk).update(
            key_digest=integration_key_digest(service.integration_key)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty", "0009_failed_deliveries_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="pagerdutyservice",
            name="key_digest",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="A keyed hash of the integration key (integration_key_digest()), to find a key "
                "already added without decrypting every row.",
                max_length=64,
            ),
        ),
        migrations.AddIndex(
            model_name="pagerdutyservice",
            index=models.Index(fields=["organization", "key_digest"], name="pd_service_key_digest"),
        ),
        migrations.RunPython(fill_digests, migrations.RunPython.noop),
    ]
