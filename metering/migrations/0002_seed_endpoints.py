from django.db import migrations


def seed(apps, schema_editor):
    from metering.defaults import seed_endpoints

    seed_endpoints(apps.get_model("metering", "Endpoint"))


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
