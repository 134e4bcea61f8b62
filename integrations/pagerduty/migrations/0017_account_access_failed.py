from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pagerduty", "0016_account_access_checked"),
    ]

    operations = [
        migrations.AddField(
            model_name="pagerdutyaccount",
            name="access_failed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When a check of access last could not reach PagerDuty.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="pagerdutyaccount",
            name="access_failure",
            field=models.CharField(blank=True, help_text="What it met, in words.", max_length=200),
        ),
    ]
