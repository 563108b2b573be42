from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0008_sec12_audit_protect_machine_identity"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="jobstep",
            index=models.Index(
                condition=models.Q(("status", "failed")), fields=["job"], name="jobstep_failed"
            ),
        ),
        migrations.AddField(
            model_name="steprun",
            name="progress_samples",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
