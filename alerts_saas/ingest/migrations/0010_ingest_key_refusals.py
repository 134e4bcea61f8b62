"""Batches refused because their ingest key was revoked: when the last one was and about how
many (`IngestKey.refused_at`, `refused_batches`; written by `ingest/refusals.py`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0009_ingest_key_events_accepted_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestkey",
            name="refused_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ingestkey",
            name="refused_batches",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
    ]
