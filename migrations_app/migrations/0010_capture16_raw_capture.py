import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0009_dash15b_progress_samples"),
    ]

    operations = [
        migrations.CreateModel(
            name="RawCapture",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveIntegerField()),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("kind", models.CharField(max_length=20)),
                ("name", models.CharField(blank=True, max_length=200)),
                ("hostname", models.CharField(blank=True, max_length=100)),
                ("machine", models.JSONField(blank=True, default=dict)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("output", models.TextField(blank=True)),
                ("stderr", models.TextField(blank=True)),
                ("exit_code", models.IntegerField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
                ("size", models.BigIntegerField(default=0)),
                ("truncated", models.BooleanField(default=False)),
                ("withheld", models.BooleanField(default=False)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="captures",
                        to="migrations_app.steprun",
                    ),
                ),
            ],
            options={
                "ordering": ["run", "seq"],
                "permissions": [("export_capture", "Can download a job's field-capture bundle")],
                "constraints": [
                    models.UniqueConstraint(fields=("run", "seq"), name="rawcapture_run_seq")
                ],
            },
        ),
    ]
