"""factory-boy factories of the suite's data. Customers and keys are made through the same
services the product uses (customer_register, customer_change_plan, api_key_create), so every
customer has its sign-up history and its first key; rows that background jobs or Stripe write
(ledger, meter reports, payment failures, alerts, subscriptions) are made directly."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from djstripe import models as djstripe_models

from accounts import services as account_services
from accounts.models import ApiKey, Customer, Plan, PlanChange
from alerts.models import (
    AlertSettings,
    PeriodNotice,
    UsageAlert,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from alerts.webhooks.secrets import secret_encrypt
from billing.models import MeterReport, PaymentFailure, PlanPrice
from core.periods import current_period
from metering.models import RequestVoid, UsageRecord


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan by slug: the seeded catalogue's row if there is one (`PlanFactory(slug="pro")`),
    else a new plan with these values."""

    class Meta:
        model = Plan
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda plan: plan.slug.title())
    included_units = 1_000
    rate_limit_per_minute = 100


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer signed up on `plan` (Free by default) through the sign-up service: user, first
    key (its raw value on `customer.raw_key`, as sign-up shows it once) and the sign-up in the
    plan-change history. `created_at` backdates the sign-up, history included; other fields
    (first_call_at, stripe_customer_id) are set afterwards."""

    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = ""
    plan = factory.SubFactory(PlanFactory, slug="free")
    stripe_customer_id = ""

    @classmethod
    def _create(cls, model_class, *, email, name, plan, stripe_customer_id, **fields):
        customer, raw = account_services.customer_register(email=email, name=name, plan=plan)
        if "created_at" in fields:
            fields["plan_changed_at"] = fields["created_at"]
            PlanChange.objects.filter(customer=customer).update(changed_at=fields["created_at"])
        if stripe_customer_id or fields:
            Customer.objects.filter(pk=customer.pk).update(
                stripe_customer_id=stripe_customer_id, **fields
            )
        customer = Customer.objects.select_related("plan").get(pk=customer.pk)
        customer.raw_key = raw
        return customer


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """Another key of a customer; its raw value is on `api_key.raw`."""

    class Meta:
        model = ApiKey

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"key {n}")

    @classmethod
    def _create(cls, model_class, *, customer, name):
        api_key, raw = account_services.api_key_create(customer=customer, name=name)
        api_key.raw = raw
        return api_key


class UsageRecordFactory(factory.django.DjangoModelFactory):
    """A ledger row, as flush_usage writes them: by default 1 call of 1 unit in the first hour of
    the current period."""

    class Meta:
        model = UsageRecord

    customer = factory.SubFactory(CustomerFactory)
    endpoint = "GET /api/v1/pets"
    hour = factory.LazyFunction(lambda: current_period().start)
    calls = 1
    units = factory.LazyAttribute(lambda row: row.calls)


class RequestVoidFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequestVoid

    customer = factory.SubFactory(CustomerFactory)
    request_id = factory.Sequence(lambda n: f"0123456789ab:{n}")
    bucket = 1
    period_id = factory.LazyFunction(lambda: current_period().id)
    endpoint = "GET /api/v1/pets"
    weight = 1


class PlanPriceFactory(factory.django.DjangoModelFactory):
    """A Stripe price of a plan, as sync_stripe_catalog records it (the base fee by default)."""

    class Meta:
        model = PlanPrice

    plan = factory.SubFactory(PlanFactory, slug="pro")
    role = PlanPrice.Role.BASE
    stripe_product_id = factory.LazyAttribute(lambda price: f"petstore_plan_{price.plan.slug}")
    stripe_price_id = factory.Sequence(lambda n: f"price_test_{n}")
    lookup_key = factory.LazyAttribute(lambda price: f"petstore_{price.plan.slug}_{price.role}")
    fingerprint = "test"


class MeterReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeterReport

    customer = factory.SubFactory(CustomerFactory, stripe_customer_id="cus_test")
    event_name = "petstore_api_units"
    hour = factory.LazyFunction(lambda: current_period().start)
    value = 1
    identifier = factory.Sequence(lambda n: f"petstore-test-{n}")
    stripe_customer_id = factory.LazyAttribute(lambda report: report.customer.stripe_customer_id)


class PaymentFailureFactory(factory.django.DjangoModelFactory):
    """An unpaid invoice under dunning (open, in its grace period, unless told otherwise)."""

    class Meta:
        model = PaymentFailure

    customer = factory.SubFactory(CustomerFactory, plan__slug="pro")
    stripe_invoice_id = factory.Sequence(lambda n: f"in_test_{n}")
    amount_due = 4_900
    grace_ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class StripeSubscriptionFactory(factory.django.DjangoModelFactory):
    """dj-stripe's copy of a Stripe subscription of a customer (and of its Stripe customer), as
    webhooks leave them: what the console reads for a customer's Stripe status."""

    class Meta:
        model = djstripe_models.Subscription

    id = factory.Sequence(lambda n: f"sub_test_{n}")
    status = "active"
    customer = factory.SubFactory(CustomerFactory, plan__slug="pro")

    @classmethod
    def _create(cls, model_class, *, id, status, customer):
        stripe_id = customer.stripe_customer_id or f"cus_test_{customer.pk}"
        Customer.objects.filter(pk=customer.pk).update(stripe_customer_id=stripe_id)
        customer.stripe_customer_id = stripe_id
        stripe_customer, _ = djstripe_models.Customer.objects.get_or_create(
            id=stripe_id, defaults={"subscriber": customer, "stripe_data": {"id": stripe_id}}
        )
        return model_class.objects.create(
            id=id,
            customer=stripe_customer,
            stripe_data={"id": id, "object": "subscription", "status": status},
        )


class AlertSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertSettings

    customer = factory.SubFactory(CustomerFactory)
    thresholds = factory.LazyFunction(lambda: [50, 80])


class UsageAlertFactory(factory.django.DjangoModelFactory):
    """A threshold crossed this period (80% of Free's 10,000 units by default)."""

    class Meta:
        model = UsageAlert

    customer = factory.SubFactory(CustomerFactory)
    period = factory.LazyFunction(lambda: current_period().id)
    threshold = 80
    included_units = 10_000
    units_used = factory.LazyAttribute(lambda alert: alert.included_units * alert.threshold // 100)


class PeriodNoticeFactory(factory.django.DjangoModelFactory):
    """A forecast or quota notice of this period (the quota forecast by default)."""

    class Meta:
        model = PeriodNotice

    customer = factory.SubFactory(CustomerFactory)
    period = factory.LazyFunction(lambda: current_period().id)
    kind = PeriodNotice.Kind.FORECAST_QUOTA
    data = factory.LazyFunction(lambda: {"units_used": 5_000, "included_units": 10_000})


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """A customer's webhook endpoint on loopback, its secret `whsec_test` (encrypted)."""

    class Meta:
        model = WebhookEndpoint

    customer = factory.SubFactory(
        CustomerFactory, plan=factory.SubFactory(PlanFactory, slug="business")
    )
    url = "http://127.0.0.1:9/hooks"
    events = factory.LazyFunction(lambda: ["plan.changed", "invoice.paid"])
    secret_encrypted = factory.LazyFunction(lambda: secret_encrypt("whsec_test"))


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    id = factory.Sequence(lambda n: f"evt_{n:024x}")
    customer = factory.SubFactory(CustomerFactory)
    type = "plan.changed"
    created_at = factory.LazyFunction(timezone.now)
    data = factory.LazyFunction(lambda: {"from_plan": "pro", "to_plan": "business"})


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.SubFactory(
        WebhookEventFactory, customer=factory.SelfAttribute("..endpoint.customer")
    )
    next_attempt_at = factory.LazyFunction(timezone.now)
