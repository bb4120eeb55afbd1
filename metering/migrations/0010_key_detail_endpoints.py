from django.db import migrations


def seed(apps, schema_editor):
    # Adds the rows that are missing (GET and PATCH of a key: free), keeps every edited one.
    from metering.defaults import seed_endpoints

    seed_endpoints(apps.get_model("metering", "Endpoint"))


class Migration(migrations.Migration):
    dependencies = [("metering", "0009_key_usage")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
