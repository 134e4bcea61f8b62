"""The API token that resolved a firing in Tripwire, on the firing itself (it was only on
its resolves, `Delivery.created_by_token`); firings a token resolved before get theirs from
those resolves here."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def name_tokens(apps: Any, schema_editor: Any) -> None:
    """One UPDATE: each firing resolved in Tripwire by no person takes the token named on its
    resolves by hand (found through the partial index on `created_by_token`)."""
    firing_model = apps.get_model("alerts", "Firing")
    delivery_model = apps.get_model("pagerduty", "Delivery")
    by_token = delivery_model.objects.filter(
        created_by_token__isnull=False, event_action="resolve", reason="by_hand"
    )
    firing_model.objects.filter(
        pk__in=by_token.values("firing_id"),
        clear_reason="resolved",
        cleared_by__isnull=True,
        cleared_by_token__isnull=True,
    ).update(
        cleared_by_token=Subquery(
            by_token.filter(
                organization_id=OuterRef("organization_id"), firing_id=OuterRef("pk")
            ).values("created_by_token_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0008_recent_match_event_kept_form"),
        ("ingest", "0006_change_event_age"),
        ("pagerduty", "0013_delivery_created_by_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="firing",
            name="cleared_by_token",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The API token that resolved it in Tripwire, if a token did.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="ingest.apitoken",
            ),
        ),
        migrations.AddIndex(
            model_name="firing",
            index=models.Index(
                condition=models.Q(("cleared_by_token__isnull", False)),
                fields=["cleared_by_token"],
                name="alerts_firing_by_token",
            ),
        ),
        migrations.RunPython(name_tokens, migrations.RunPython.noop),
    ]
