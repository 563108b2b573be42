from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0010_capture16_raw_capture"),
    ]

    operations = [
        migrations.AddField(
            model_name="machine",
            name="simulated",
            field=models.BooleanField(default=False, editable=False, verbose_name="simulated"),
        ),
    ]
