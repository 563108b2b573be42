from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0008_sec12_audit_protect_machine_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="machine",
            name="simulated",
            field=models.BooleanField(default=False, editable=False, verbose_name="simulated"),
        ),
    ]
