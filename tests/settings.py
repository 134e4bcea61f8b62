"""Settings for the test suite: real PostgreSQL and Redis, as CI runs them."""

import os

# Each of pytest-xdist's workers (scripts/test-suite.sh runs each lane in two) has Redis
# databases of its own: the pair of TEST_REDIS_DBS at its place (gw0 the first two, gw1 the
# next), for its counts and cache (REDIS_URL) and its Celery broker; and a VAR_DIR of its
# own. Its test database is its own already (pytest-django adds the worker's name).
# Taken from the environment as it is applied: the processes a test starts (Celery workers,
# with a broker of the test's own at times) inherit the result, not the choice.
if (_worker := os.environ.get("PYTEST_XDIST_WORKER")) and (
    _dbs := os.environ.pop("TEST_REDIS_DBS", None)
):
    _place = int(_worker.removeprefix("gw"))
    _cache_db, _broker_db = _dbs.split(",")[2 * _place : 2 * _place + 2]
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{_cache_db}"
    os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:6379/{_broker_db}"
    _var = os.environ.get("VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))
    os.environ["VAR_DIR"] = f"{_var}-{_worker}"

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tripwire")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
# Live-server threads must not keep connections open, or the test database can't be dropped.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Paging-problem emails go at once unless a test holds them
# (tests/notices/test_own_changes_and_held_emails.py).
os.environ.setdefault("PROBLEM_EMAIL_HOLD_SECONDS", "0")
os.environ.setdefault("VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from alerts_saas.settings import *  # noqa: F403

# A lane of scripts/test-suite.sh runs beside the other on a test database of its own.
if _lane := os.environ.get("TEST_LANE"):
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_lane}"}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The test process reads mail from locmem's outbox; a worker process, which has none, is
# given a file backend and a folder through its environment.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", EMAIL_FILE_PATH)  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
