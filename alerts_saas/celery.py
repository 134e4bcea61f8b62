"""The Celery app: `celery -A alerts_saas worker` and `celery -A alerts_saas beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alerts_saas.settings")

app = Celery("alerts_saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
