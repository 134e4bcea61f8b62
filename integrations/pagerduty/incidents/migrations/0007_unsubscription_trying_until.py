"""A try's lease apart from when the next try is due; tokens kept only once the account goes."""

import alerts_saas.crypto
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pagerduty_incidents", "0006_unsubscription")]

    operations = [
        migrations.AddField(
            model_name="unsubscription",
            name="account_ref",
            field=models.PositiveBigIntegerField(
                blank=True,
                db_index=True,
                help_text="The account's id, kept once it goes.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="unsubscription",
            name="trying_until",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AlterField(
            model_name="unsubscription",
            name="access_token",
            field=alerts_saas.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="unsubscription",
            name="refresh_token",
            field=alerts_saas.crypto.EncryptedTextField(blank=True),
        ),
    ]
