"""When events sent with an ingest key were last accepted (`IngestKey.events_accepted_at`).
Existing keys start from their last use: before this, a use was all Tripwire recorded, and a
key that sent events a minute ago must not read as never having sent any."""

from django.db import migrations, models
from django.db.models import F


def from_last_use(apps, schema_editor):  # type: ignore[no-untyped-def]
    IngestKey = apps.get_model("ingest", "IngestKey")
    IngestKey.objects.filter(last_used_at__isnull=False).update(
        events_accepted_at=F("last_used_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0008_api_token_revoked_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestkey",
            name="events_accepted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(from_last_use, migrations.RunPython.noop),
    ]
