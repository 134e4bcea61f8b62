"""The bench-delivery scratch data: its organizations and PagerDuty services, and a delivery
history of realistic rows written by PostgreSQL itself (one INSERT ... SELECT over
generate_series)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from alerts_saas.accounts.models import Organization, User
from alerts_saas.accounts.services import create_organization
from integrations.pagerduty.models import Delivery, PagerDutyService

ORG_SLUG = "bench-delivery"
HISTORY_ORGS = 5
HISTORY_SERVICES = 4  # per history organization


def empty_deliveries() -> None:
    """The "empty table" phase: no delivery at all, and no bench organization left over."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Delivery._meta.db_table}")
    Organization.objects.filter(slug__startswith=ORG_SLUG).delete()


def organization(suffix: str = "") -> Organization:
    user, _ = User.objects.get_or_create(email="bench-delivery@tripwire.localhost")
    slug = f"{ORG_SLUG}{suffix}"
    found = Organization.objects.filter(slug=slug).first()
    return found or create_organization(user, f"Bench delivery{suffix}", slug)


def services(org: Organization, count: int, label: str) -> list[PagerDutyService]:
    """`count` pasted-key US services, each with an integration key of its own."""
    return PagerDutyService.objects.bulk_create(
        [
            PagerDutyService(
                organization=org,
                region="us",
                name=f"{label} {n}",
                integration_key=uuid.uuid4().hex,
            )
            for n in range(count)
        ]
    )


# Trigger and resolve pairs (same dedup key, five minutes apart), oldest first over 90 days
# (within DELIVERY_RETENTION_DAYS); one in 47 refused for good (400), one in 20 delivered on
# a second attempt.
_HISTORY = """
INSERT INTO pagerduty_delivery (
    organization_id, service_id, service_name, region, routing_key, event_action, dedup_key,
    body, is_test, reason, trim_note, status, attempts, next_attempt_at, lease_until,
    last_error,
    response_status, response_message, response_errors, latency_ms, created_at, delivered_at,
    created_by_id, alert_id, firing_id, claim
)
SELECT
    s.org, s.id, s.name, 'us', s.rk, a.action, a.dedup,
    CASE WHEN a.action = 'trigger' THEN jsonb_build_object(
        'event_action', 'trigger', 'dedup_key', a.dedup,
        'payload', jsonb_build_object(
            'summary', 'Alert ' || (g %% 97) || ': ' || (5 + g %% 40) || ' events in 5 min',
            'source', 'tripwire',
            'severity', (ARRAY['critical', 'error', 'warning', 'info'])[1 + g %% 4],
            'custom_details', jsonb_build_object('count', 5 + g %% 40, 'window_minutes', 5)))
    ELSE jsonb_build_object('event_action', 'resolve', 'dedup_key', a.dedup) END,
    false, '', '', CASE WHEN a.failed THEN 'failed' ELSE 'delivered' END,
    CASE WHEN g %% 20 = 3 THEN 2 ELSE 1 END, a.at, NULL,
    CASE WHEN a.failed THEN 'Event object is invalid; payload.summary is missing' ELSE '' END,
    CASE WHEN a.failed THEN 400 ELSE 202 END,
    CASE WHEN a.failed THEN 'Event object is invalid' ELSE 'Event processed' END,
    CASE WHEN a.failed THEN '["payload.summary is missing"]'::jsonb ELSE '[]'::jsonb END,
    40 + g %% 400, a.at,
    CASE WHEN a.failed THEN NULL ELSE a.at + (40 + g %% 400) * interval '1 millisecond' END,
    NULL, NULL, NULL, NULL
FROM generate_series(0, %(rows)s - 1) AS g
CROSS JOIN LATERAL (
    SELECT 1 + ((g / 2) %% cardinality(%(ids)s::bigint[])) AS k
) AS pick
CROSS JOIN LATERAL (
    SELECT (%(ids)s::bigint[])[pick.k] AS id, (%(orgs)s::bigint[])[pick.k] AS org,
           (%(names)s::text[])[pick.k] AS name, (%(keys)s::text[])[pick.k] AS rk
) AS s
CROSS JOIN LATERAL (
    SELECT CASE WHEN g %% 2 = 0 THEN 'trigger' ELSE 'resolve' END AS action,
           'hist-' || (g / 2) AS dedup,
           (g / 2) %% 47 = 7 AS failed,
           now() - interval '89 days 23 hours' * (1 - (g / 2) * 2.0 / %(rows)s)
               + (g %% 2) * interval '5 minutes' AS at
) AS a
"""


def insert_history(rows: int) -> int:
    """Add `rows` finished deliveries over several organizations; the table's row count."""
    orgs = [organization(f"-history-{n}") for n in range(1, HISTORY_ORGS + 1)]
    for org in orgs:
        if not PagerDutyService.objects.filter(organization=org).exists():
            services(org, HISTORY_SERVICES, f"history {org.slug}")
    with connection.cursor() as cursor:
        # The stored (encrypted) integration keys: the deliveries' copies are the same.
        cursor.execute(
            "SELECT id, organization_id, name, integration_key FROM pagerduty_pagerdutyservice"
            " WHERE organization_id = ANY(%s) ORDER BY id",
            [[o.pk for o in orgs]],
        )
        ids, org_ids, names, keys = (list(c) for c in zip(*cursor.fetchall(), strict=True))
        if rows > 0:
            params: dict[str, Any] = {
                "rows": rows,
                "ids": ids,
                "orgs": org_ids,
                "names": names,
                "keys": keys,
            }
            cursor.execute(_HISTORY, params)
        # As autovacuum would have, on a table that has lived that long.
        cursor.execute("VACUUM (ANALYZE) pagerduty_delivery")
    return table_rows()


def table_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pagerduty_delivery")
        return int(cursor.fetchone()[0])
