"""The operator console: every page of our models renders with data; actions do what they say."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, Plan, PlanChange
from billing.installation import installation_token
from billing.models import (
    CreditEntry,
    EventDestination,
    PaymentFailure,
    PeriodClose,
    PlanPrice,
    ThinEvent,
)
from core.periods import current_period
from metering.models import Endpoint
from tests.factories import (
    AlertSettingsFactory,
    CustomerFactory,
    MeterReportFactory,
    PaymentFailureFactory,
    PeriodNoticeFactory,
    PlanPriceFactory,
    RequestVoidFactory,
    StripeSubscriptionFactory,
    UsageAlertFactory,
    UsageRecordFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "metering", "billing", "alerts"}


@pytest.fixture
def console_data(plans):
    """A row of every model of ours on the console: three customers (two paying, one past 80% of
    Free), last period's usage, a Stripe price, a meter report, an open and a paid payment
    failure, alert settings and an alert, and a void waiting for Redis."""
    free = CustomerFactory(email="free@example.com")
    pro = CustomerFactory(email="pro@example.com", plan=plans["pro"])
    period = current_period()
    UsageRecordFactory(customer=free, calls=8_000)
    UsageRecordFactory(customer=pro, calls=1_234)
    # Last period's usage does not count in "usage this period".
    UsageRecordFactory(customer=free, hour=period.start - timedelta(hours=1), calls=999)
    StripeSubscriptionFactory(customer=pro, status="past_due")
    business = CustomerFactory(email="business@example.com", plan=plans["business"])
    StripeSubscriptionFactory(customer=business, status="active")
    PlanPriceFactory(plan=plans["pro"], stripe_price_id="price_1")
    MeterReportFactory(customer=pro, value=1_234)
    MeterReportFactory(
        customer=pro,
        value=55,
        reported_at=timezone.now(),
        failed_at=timezone.now(),
        error_code="meter_event_customer_not_found",
        last_error="No customer cus_gone",
    )
    installation_token()
    PeriodClose.objects.create(period=period.previous().id, closed_at=timezone.now(), reports=3)
    EventDestination.objects.create(
        stripe_id="ed_1", uuid=uuid.uuid4(), url="http://x.example/e/", secret="whsec_x"
    )
    ThinEvent.objects.create(event_id="evt_1", type="v1.billing.meter.no_meter_found")
    CreditEntry.objects.create(
        customer=pro, kind="purchase", amount=Decimal("50.00"), period=period.id, source_id="cs_1"
    )
    PaymentFailureFactory(customer=pro, stripe_invoice_id="in_open")
    PaymentFailureFactory(customer=pro, stripe_invoice_id="in_paid", resolved_at=timezone.now())
    AlertSettingsFactory(customer=free)
    UsageAlertFactory(customer=free)
    RequestVoidFactory(customer=free)
    PeriodNoticeFactory(customer=free)
    WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(customer=business))
    return {"free": free, "pro": pro, "business": business}


def our_models():
    return [m for m in admin.site._registry if m._meta.app_label in OUR_APPS]


def test_every_changelist_and_change_page_renders(admin_client, console_data):
    assert {m.__name__ for m in our_models()} >= {
        "Customer",
        "ApiKey",
        "Plan",
        "PlanChange",
        "Endpoint",
        "UsageRecord",
        "PlanPrice",
        "MeterReport",
        "PaymentFailure",
        "AlertSettings",
        "UsageAlert",
        "RequestVoid",
    }
    for model in our_models():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = admin_client.get(changelist)
        assert response.status_code == 200, (changelist, response.content[:500])
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"no {opts.model_name} in the fixture"
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        response = admin_client.get(change)
        assert response.status_code == 200, (change, response.content[:500])
        # Filters and search render too.
        assert admin_client.get(changelist, {"q": "example"}).status_code == 200


def test_the_customer_list_shows_plan_mrr_usage_and_stripe(admin_client, console_data):
    response = admin_client.get(reverse("admin:accounts_customer_changelist"))
    html = response.content.decode()
    assert "8,000 / 10,000 (80%)" in html  # the ledger's units of this period only
    assert "1,234 / 50,000 (2%)" in html
    assert "$49.00" in html  # Pro's MRR
    assert "payment failed" in html  # the open payment failure wins over past_due
    assert '<td class="field-stripe_status">active</td>' in html  # Business's subscription
    assert '<td class="field-stripe_status">–</td>' in html  # Free: not a Stripe customer


def test_the_customer_list_costs_the_same_queries_for_more_rows(admin_client, plans):
    url = reverse("admin:accounts_customer_changelist")
    CustomerFactory(plan=plans["pro"])
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for _ in range(15):
        customer = CustomerFactory(plan=plans["pro"])
        UsageRecordFactory(customer=customer)
        StripeSubscriptionFactory(customer=customer)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)


def test_the_ledger_list_filters_by_period_and_endpoint(admin_client, console_data):
    url = reverse("admin:metering_usagerecord_changelist")
    period = current_period()
    response = admin_client.get(url, {"period": period.label})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    response = admin_client.get(url, {"period": period.previous().label})
    assert response.context["cl"].result_count == 1
    label = Endpoint.objects.get(method="GET", path="/api/v1/pets").label
    assert admin_client.get(url, {"endpoint": label}).context["cl"].result_count == 3


def test_revoke_keys_action(admin_client, console_data):
    key = ApiKey.objects.get(customer=console_data["free"])
    response = admin_client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_change_plan_asks_for_the_plan_then_goes_through_the_service(
    admin_client, console_data, plans
):
    url = reverse("admin:accounts_customer_changelist")
    free = console_data["free"]
    selection = {"action": "change_plan", "_selected_action": [free.pk]}
    response = admin_client.post(url, selection)
    assert response.status_code == 200
    assert b"Change plan" in response.content and b"free@example.com" in response.content
    free.refresh_from_db()
    assert free.plan.slug == "free"  # nothing yet

    response = admin_client.post(
        url, {**selection, "apply": "1", "plan": plans["business"].pk, "reason": "sales"}
    )
    assert response.status_code == 302
    free.refresh_from_db()
    assert free.plan.slug == "business"
    change = PlanChange.objects.filter(customer=free).order_by("-changed_at", "-id").first()
    assert (change.from_plan.slug, change.to_plan.slug, change.reason) == (
        "free",
        "business",
        "sales",
    )
    assert (change.from_mrr, change.to_mrr) == (Decimal("0.00"), Decimal("199.00"))


def test_staff_move_a_contract_customer_from_the_admin(admin_client, console_data, plans):
    """A contract plan (Enterprise) is refused to the customer's own requests, not to staff."""
    from accounts.services import customer_change_plan

    customer = console_data["free"]
    customer_change_plan(customer=customer, plan=plans["enterprise"], reason="sales")
    url = reverse("admin:accounts_customer_changelist")
    response = admin_client.post(
        url,
        {
            "action": "change_plan",
            "_selected_action": [customer.pk],
            "apply": "1",
            "plan": plans["free"].pk,
            "reason": "contract ended",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.plan.slug == "free"
    change = PlanChange.objects.filter(customer=customer).order_by("-changed_at", "-id").first()
    assert (change.from_plan.slug, change.reason) == ("enterprise", "contract ended")


def test_extend_grace_moves_open_failures_only(admin_client, console_data):
    open_failure = PaymentFailure.objects.get(stripe_invoice_id="in_open")
    paid = PaymentFailure.objects.get(stripe_invoice_id="in_paid")
    before_open, before_paid = open_failure.grace_ends_at, paid.grace_ends_at
    response = admin_client.post(
        reverse("admin:billing_paymentfailure_changelist"),
        {"action": "extend_grace", "_selected_action": [open_failure.pk, paid.pk]},
        follow=True,
    )
    assert response.status_code == 200
    open_failure.refresh_from_db()
    paid.refresh_from_db()
    assert open_failure.grace_ends_at >= before_open + timedelta(days=7)
    assert paid.grace_ends_at == before_paid
    assert b"already paid or downgraded" in response.content


def test_stripe_owned_rows_are_read_only(admin_client, console_data):
    price = PlanPrice.objects.get()
    url = reverse("admin:billing_planprice_change", args=[price.pk])
    response = admin_client.post(url, {"stripe_price_id": "price_hacked"})
    assert response.status_code == 403
    price.refresh_from_db()
    assert price.stripe_price_id == "price_1"
    assert admin_client.get(reverse("admin:billing_meterreport_add")).status_code == 403


def test_an_invalid_pricing_definition_is_refused(admin_client, plans):
    plan = plans["pro"]
    url = reverse("admin:accounts_plan_change", args=[plan.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["pricing"] = '{"model": "per_unit", "unit_price": 0.001}'  # a float: refused
    data["features"] = '["images", "analytics"]'
    for prefix in ("prices",):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert b"decimal strings" in response.content
    plan.refresh_from_db()
    assert plan.pricing == {"model": "per_unit", "unit_price": "0.001"}


def test_an_emptied_pricing_box_means_no_usage_pricing(admin_client, plans):
    plan = plans["pro"]
    url = reverse("admin:accounts_plan_change", args=[plan.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({"pricing": "", "features": '["images"]'})
    data.update({"created_at_0": "2026-01-01", "created_at_1": "00:00:00"})
    data.update({"prices-TOTAL_FORMS": "0", "prices-INITIAL_FORMS": "0"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    plan.refresh_from_db()
    assert plan.pricing == {}


def test_every_model_admin_is_registered_by_its_own_app():
    """Higher apps extend a lower app's admin (core.admin_tools); none re-registers it."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUR_APPS:
            assert type(model_admin).__module__ == f"{model._meta.app_label}.admin", model


def test_the_site_is_branded_as_the_operator_console(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "operator console" in html.lower()
    assert Plan.objects.exists()
