from decimal import Decimal

from django.db import migrations


def default_price_list(apps, schema_editor):
    """A working price list from the start, so a demo's first scan gets a quote; staff change it in the admin."""
    PricingTable = apps.get_model("catalog", "PricingTable")
    if not PricingTable.objects.exists():
        PricingTable.objects.create(name="Standard", currency="EUR", per_work_item=Decimal("0.05"),
                                    per_gb_attachments=Decimal("2.00"), minimum=Decimal("49.00"), active=True,
                                    notes="Made at installation; change it or add another and make that active.")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_scan_lease")]
    operations = [migrations.RunPython(default_price_list, migrations.RunPython.noop)]
