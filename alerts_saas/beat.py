"""What Celery beat runs, and how often: the product's periodic tasks (settings.py reads
this into CELERY_BEAT_SCHEDULE). Intervals a deployment may tune come from the
environment."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab

from alerts_saas.env import env_int

# How often the alerts are checked (`evaluation.evaluate`): an absence alert's first full
# window is judged at the first check after it ends (`state.state_of`).
EVALUATION_SECONDS = env_int("ALERT_EVALUATION_INTERVAL", 10)


def _every(task: str, seconds: int) -> dict[str, object]:
    """A beat entry that runs `task` every `seconds`; a run still queued when the next is
    due is dropped, so a stalled worker does not come back to a pile of them."""
    return {"task": task, "schedule": timedelta(seconds=seconds), "options": {"expires": seconds}}


def beat_schedule(heartbeat_interval: int) -> dict[str, dict[str, object]]:
    return {
        "heartbeat": _every("alerts_saas.health.tasks.heartbeat", heartbeat_interval),
        "pagerduty-sweep-deliveries": _every(
            "integrations.pagerduty.tasks.sweep_deliveries", env_int("DELIVERY_SWEEP_INTERVAL", 10)
        ),
        "pagerduty-refresh-tokens": {
            "task": "integrations.pagerduty.tasks.refresh_expiring_tokens",
            "schedule": timedelta(minutes=5),
        },
        "alerts-evaluate": _every("alerts_saas.alerts.tasks.evaluate_alerts", EVALUATION_SECONDS),
        # Mute windows: what they held pages within this many seconds of their end.
        "alerts-release-held": _every(
            "alerts_saas.alerts.tasks.release_held_firings", env_int("MUTE_RELEASE_INTERVAL", 15)
        ),
        # A fallback that pages again: what its heal's callback, lost, did not page.
        "alerts-page-owed-through-fallback": _every(
            "alerts_saas.alerts.tasks.page_owed_through_fallback",
            env_int("FALLBACK_OWED_INTERVAL", 60),
        ),
        "alerts-prune-counts": {
            "task": "alerts_saas.alerts.tasks.prune_counts",
            "schedule": timedelta(minutes=10),
        },
        # History retention: deliveries first, so firings go once nothing points at them.
        "pagerduty-prune-deliveries": _every("integrations.pagerduty.tasks.prune_deliveries", 600),
        "alerts-prune-firings": _every("alerts_saas.alerts.tasks.prune_firings", 600),
        "ingest-prune-changes": _every("alerts_saas.ingest.tasks.prune_changes", 3600),
        "alerts-prune-mute-windows": _every("alerts_saas.alerts.tasks.prune_mute_windows", 3600),
        "incidents-apply-pending": _every(
            "integrations.pagerduty.incidents.tasks.apply_pending", 30
        ),
        # Services deleted in PagerDuty: each account read once per interval, a slice of the
        # accounts at the start of every minute (see integrations.pagerduty.service_check).
        "pagerduty-check-services": {
            "task": "integrations.pagerduty.tasks.check_services",
            "schedule": crontab(),
            "options": {"expires": 55},
        },
        # OAuth access revoked in PagerDuty: each account read once per interval, a slice of
        # the accounts at the start of every minute (integrations.pagerduty.access_check).
        "pagerduty-check-access": {
            "task": "integrations.pagerduty.tasks.check_access",
            "schedule": crontab(),
            "options": {"expires": 55},
        },
        "incidents-prune": _every("integrations.pagerduty.incidents.tasks.prune_incidents", 600),
        "incidents-sweep-unsubscriptions": _every(
            "integrations.pagerduty.incidents.tasks.sweep_unsubscriptions", 60
        ),
        "incidents-check-subscriptions": _every(
            "integrations.pagerduty.incidents.tasks.check_subscriptions", 3600
        ),
        # Paging problems: reminders, fixes no signal announces, and a backstop for the rest.
        "notices-check-paging-problems": _every(
            "alerts_saas.notices.tasks.check_paging_problems", env_int("PROBLEM_CHECK_INTERVAL", 60)
        ),
        "audit-prune-entries": _every("alerts_saas.audit.tasks.prune_entries", 3600),
        "purge-stale-invitations": {
            "task": "alerts_saas.accounts.tasks.purge_stale_invitations",
            "schedule": timedelta(hours=6),
        },
    }
