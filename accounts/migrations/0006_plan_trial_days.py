from django.db import migrations, models


def pro_trial(apps, schema_editor):
    # The demo catalogue's Pro plan offers a 14-day trial (accounts/demo_plans.py).
    apps.get_model("accounts", "Plan").objects.filter(slug="pro", trial_days=0).update(
        trial_days=14
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_key_caps")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="trial_days",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Free trial length in days (no card needed; once per customer); 0: "
                "no trial.",
            ),
        ),
        migrations.RunPython(pro_trial, migrations.RunPython.noop),
    ]
