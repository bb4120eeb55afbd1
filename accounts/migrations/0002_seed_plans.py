from django.db import migrations


def seed(apps, schema_editor):
    from accounts.demo_plans import seed_plans

    seed_plans(apps.get_model("accounts", "Plan"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
