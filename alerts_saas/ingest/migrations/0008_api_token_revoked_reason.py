"""Why a token was revoked when no one chose to; and the tokens that already outlived their
creator's right to make them (the creator left, was made a member, or was deleted before
tokens followed their creator: `departures.py`) are revoked now, each with an audit entry."""

from typing import Any

from django.db import migrations, models
from django.db.models import Exists, OuterRef
from django.utils import timezone

WHY_GONE = "its creator is no longer an admin of the organization"
WHY_DELETED = "its creator's account was deleted"


def revoke_orphans(apps: Any, schema_editor: Any) -> None:
    ApiToken = apps.get_model("ingest", "ApiToken")
    Membership = apps.get_model("accounts", "Membership")
    Entry = apps.get_model("audit", "Entry")
    admins = Membership.objects.filter(
        organization=OuterRef("organization"),
        user=OuterRef("created_by"),
        role__in=("owner", "admin"),
    )
    now = timezone.now()
    for token in ApiToken.objects.filter(revoked_at__isnull=True).exclude(Exists(admins)):
        why = WHY_DELETED if token.created_by_id is None else WHY_GONE
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=now, revoked_reason=why)
        Entry.objects.create(
            organization_id=token.organization_id,
            created_at=now,
            actor_kind="system",
            actor_label="system",
            object_type="api_token",
            object_id=str(token.pk),
            object_name=token.name[:200],
            action="revoked",
            changes=[{"field": "reason", "after": why}],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0007_ingest_minute_refused"),
        ("accounts", "0005_former_slug"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="revoked_reason",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.RunPython(revoke_orphans, migrations.RunPython.noop),
    ]
