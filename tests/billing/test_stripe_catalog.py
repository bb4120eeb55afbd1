import pytest
import stripe
from django.core.management import call_command

from accounts.models import Plan
from billing.models import PlanPrice
from billing.stripe_catalog import UNITS_METER, class_meter, stripe_catalog_sync


def stripe_prices(active=True):
    return list(stripe.Price.list(limit=100, active=active, expand=["data.tiers"]).data)


@pytest.mark.django_db
def test_sync_creates_products_prices_and_meters(stripe_server):
    meters = {m.event_name for m in stripe.billing.Meter.list(limit=100).data}
    assert UNITS_METER in meters and class_meter("read") in meters
    pro = {p.role: p for p in PlanPrice.objects.filter(plan__slug="pro", active=True)}
    assert set(pro) == {"base", "usage"}
    base = stripe.Price.retrieve(pro["base"].stripe_price_id)
    assert (base.unit_amount, base.recurring.interval, base.recurring.usage_type) == (
        4900,
        "month",
        "licensed",
    )
    usage = stripe.Price.retrieve(pro["usage"].stripe_price_id, expand=["tiers"])
    assert usage.recurring.usage_type == "metered" and usage.tiers_mode == "graduated"
    assert [(t.up_to, str(t.unit_amount_decimal)) for t in usage.tiers] == [
        (50_000, "0"),
        (None, "0.1"),
    ]
    assert stripe.Product.retrieve("petstore_plan_pro").name == "Pet Store API Pro"
    # Free and Enterprise (custom) have nothing to sell through Stripe.
    assert not PlanPrice.objects.filter(plan__slug__in=["free", "enterprise"]).exists()


@pytest.mark.django_db
def test_second_run_creates_nothing(stripe_server):
    before = len(stripe_prices())
    result = stripe_catalog_sync()
    assert (result.prices_created, result.products_created, result.prices_archived) == (0, 0, 0)
    assert len(stripe_prices()) == before
    call_command("sync_stripe_catalog")
    assert len(stripe_prices()) == before


@pytest.mark.django_db
def test_a_price_change_creates_a_new_price_and_archives_the_old(stripe_server):
    old = PlanPrice.objects.get(plan__slug="pro", role="usage", active=True)
    Plan.objects.filter(slug="pro").update(pricing={"model": "per_unit", "unit_price": "0.002"})
    result = stripe_catalog_sync()
    assert (result.prices_created, result.prices_archived) == (1, 1)
    new = PlanPrice.objects.get(plan__slug="pro", role="usage", active=True)
    assert new.stripe_price_id != old.stripe_price_id
    assert stripe.Price.retrieve(old.stripe_price_id).active is False
    found = stripe.Price.list(lookup_keys=[new.lookup_key]).data
    assert [p.id for p in found] == [new.stripe_price_id]  # the lookup key moved over


@pytest.mark.django_db
def test_a_run_that_died_after_creating_a_price_adopts_it(stripe_server):
    """Stripe has the price (lookup key + fingerprint) but our table lost it: no duplicate."""
    PlanPrice.objects.filter(plan__slug="business").delete()
    before = len(stripe_prices())
    result = stripe_catalog_sync()
    assert result.prices_created == 0 and len(stripe_prices()) == before
    assert PlanPrice.objects.filter(plan__slug="business", active=True).count() == 2


@pytest.mark.django_db
def test_presets_map_to_stripe_tiers(stripe_server):
    call_command("load_pricing_preset", "graduated")
    stripe_catalog_sync()
    metered = PlanPrice.objects.get(plan__slug="metered", active=True)
    price = stripe.Price.retrieve(metered.stripe_price_id, expand=["tiers"])
    assert price.tiers_mode == "graduated"
    assert [(t.up_to, str(t.unit_amount_decimal)) for t in price.tiers] == [
        (100_000, "1"),
        (1_000_000, "0.5"),
        (None, "0.3"),
    ]

    call_command("load_pricing_preset", "pay-per-call")
    stripe_catalog_sync()
    # Plans the preset switched off are no longer sold: their prices are archived.
    assert not PlanPrice.objects.filter(plan__slug="metered", active=True).exists()
    assert stripe.Price.retrieve(metered.stripe_price_id).active is False
    payg = {p.usage_class: p for p in PlanPrice.objects.filter(plan__slug="payg", active=True)}
    assert set(payg) == {"default", "read", "write", "image"}
    image = stripe.Price.retrieve(payg["image"].stripe_price_id, expand=["tiers"])
    assert image.tiers_mode == "volume" and image.recurring.meter
    assert [(t.up_to, str(t.unit_amount_decimal)) for t in image.tiers] == [
        (100_000, "10"),
        (1_000_000, "8"),
        (None, "6"),
    ]

    call_command("load_pricing_preset", "hybrid")
    stripe_catalog_sync()
    hybrid = {p.role: p for p in PlanPrice.objects.filter(plan__slug="hybrid", active=True)}
    tiers = stripe.Price.retrieve(hybrid["usage"].stripe_price_id, expand=["tiers"]).tiers
    assert [(t.up_to, str(t.unit_amount_decimal)) for t in tiers] == [(10_000, "0"), (None, "0.5")]
