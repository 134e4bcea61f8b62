from django.db import models


class Heartbeat(models.Model):
    """The last time a background process proved it was alive (beat schedules, worker runs)."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
