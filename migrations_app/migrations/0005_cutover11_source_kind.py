from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0004_notification_outbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="migrationjob",
            name="source_kind",
            field=models.CharField(
                choices=[
                    ("live", "the live old server"),
                    ("mirror_backup", "a mirror backup"),
                    ("incremental_backup", "an incremental backup"),
                ],
                default="live",
                max_length=20,
                verbose_name="source of the data",
            ),
        ),
    ]
