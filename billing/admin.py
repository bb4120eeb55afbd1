"""Billing's models in the operator console, and what billing adds to accounts' customer and
plan pages (core.admin_tools.admin_extend): the Stripe status, payment failures, the plan's Stripe
prices. Stripe is the source of truth for prices, meter reports and invoice state: those are
read-only. dj-stripe's own models stay as dj-stripe registers them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone
from djstripe.models import Subscription

from accounts.models import Customer, Plan
from billing import promotion_admin  # noqa: F401 (registers PromotionCode)
from billing.models import (
    CreditEntry,
    EventDestination,
    Installation,
    MeterReport,
    PaymentFailure,
    PeriodClose,
    PlanPrice,
    ThinEvent,
)
from core.admin_tools import CappedPaginator, PeriodFilter, ReadOnlyAdmin, admin_extend
from core.money import cents_to_dollars, money

GRACE_EXTENSION_DAYS = 7


# --- inlines on the customer page ---------------------------------------------------------------


class PaymentFailureInline(admin.TabularInline):
    model = PaymentFailure
    extra = 0
    fields = ["stripe_invoice_id", "amount_due", "attempt_count", "grace_ends_at", "resolved_at"]
    readonly_fields = fields
    can_delete = False
    max_num = 0


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 0
    fields = ["role", "usage_class", "meter_event_name", "stripe_price_id", "lookup_key", "active"]
    readonly_fields = fields
    can_delete = False
    max_num = 0


# --- billing's own models -----------------------------------------------------------------------


@admin.register(PlanPrice)
class PlanPriceAdmin(ReadOnlyAdmin):
    list_display = ["plan", "role", "usage_class", "meter_event_name", "stripe_price_id", "active"]
    list_filter = ["role", "active", "plan"]
    list_select_related = ["plan"]
    search_fields = ["stripe_price_id", "stripe_product_id", "lookup_key", "plan__slug"]
    date_hierarchy = "created_at"


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    """This installation's token: it starts every idempotency key and meter-event identifier
    we send to Stripe (billing/installation.py)."""

    list_display = ["token", "created_at"]


class MeterReportFailedFilter(admin.SimpleListFilter):
    title = "Stripe refused it"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return [("yes", "Failed (not billed)"), ("no", "Not failed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(failed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(failed_at__isnull=True)
        return queryset


@admin.register(MeterReport)
class MeterReportAdmin(ReadOnlyAdmin):
    list_display = [
        "hour",
        "customer",
        "event_name",
        "value",
        "reported_at",
        "attempts",
        "failure",
    ]
    # Grows like the ledger (a row per customer and hour): no date hierarchy, capped count.
    list_filter = [
        MeterReportFailedFilter,
        PeriodFilter,
        "event_name",
        "error_code",
        ("reported_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "=identifier", "=stripe_customer_id"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    paginator = CappedPaginator

    @admin.display(description="failure")
    def failure(self, obj):
        return f"{obj.error_code}: {obj.last_error}" if obj.failed_at else ""

    def changelist_view(self, request, extra_context=None):
        failed = MeterReport.objects.filter(failed_at__isnull=False).count()
        if failed:
            self.message_user(
                request,
                f"{failed} meter report(s) were refused by Stripe and are not billed: "
                "filter by “Stripe refused it” to see why. Those whose cause was fixed (the "
                "customer's Stripe id, an archived meter) are sent again by the next report run.",
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)


@admin.register(PeriodClose)
class PeriodCloseAdmin(ReadOnlyAdmin):
    list_display = ["period", "started_at", "closed_at", "reports"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    """The prepaid credits ledger (billing/credits.py): grants mirror Stripe credit grants, so
    it is read-only here; staff grant credits in Stripe or through a pack."""

    list_display = ["created_at", "customer", "kind", "amount", "period", "stripe_credit_grant_id"]
    list_filter = ["kind"]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "=stripe_credit_grant_id", "=source_id"]


@admin.register(EventDestination)
class EventDestinationAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "url", "created_at"]
    exclude = ["secret"]


@admin.register(ThinEvent)
class ThinEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "type", "related_object", "summary"]
    list_filter = ["type"]
    search_fields = ["=event_id", "=related_object"]


@admin.register(PaymentFailure)
class PaymentFailureAdmin(admin.ModelAdmin):
    """Invoice state comes from Stripe's webhooks: read-only. Staff may give more time."""

    list_display = [
        "customer",
        "stripe_invoice_id",
        "amount",
        "attempt_count",
        "first_failed_at",
        "grace_ends_at",
        "status",
    ]
    list_filter = [
        ("resolved_at", admin.EmptyFieldListFilter),
        ("downgraded_at", admin.EmptyFieldListFilter),
        "currency",
    ]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "stripe_invoice_id"]
    date_hierarchy = "first_failed_at"
    readonly_fields = [
        "customer",
        "stripe_invoice_id",
        "amount_due",
        "currency",
        "first_failed_at",
        "last_failed_at",
        "attempt_count",
        "grace_ends_at",
        "notices_sent",
        "last_notice_at",
        "resolved_at",
        "downgraded_at",
    ]
    actions = ["extend_grace"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="amount due")
    def amount(self, obj):
        return f"{money(cents_to_dollars(obj.amount_due), sign='')} {obj.currency.upper()}"

    @admin.display(description="status")
    def status(self, obj):
        if obj.resolved_at:
            return "paid"
        if obj.downgraded_at:
            return "downgraded"
        return "grace over" if obj.grace_ends_at <= timezone.now() else "in grace"

    @admin.action(description=f"Extend grace period by {GRACE_EXTENSION_DAYS} days")
    def extend_grace(self, request, queryset):
        from billing.dunning import payment_failure_extend_grace

        open_failures = list(queryset.filter(resolved_at__isnull=True, downgraded_at__isnull=True))
        for failure in open_failures:
            payment_failure_extend_grace(failure=failure, days=GRACE_EXTENSION_DAYS)
        skipped = queryset.count() - len(open_failures)
        text = f"Extended the grace period of {len(open_failures)} payment failure(s)."
        if skipped:
            text += f" {skipped} already paid or downgraded: unchanged."
        self.message_user(request, text, messages.SUCCESS)


# --- on accounts' customer and plan pages -------------------------------------------------


def _with_stripe_state(queryset: QuerySet) -> QuerySet:
    subscription = (
        Subscription.objects.filter(customer__subscriber=OuterRef("pk"))
        .order_by("-created")
        .annotate(status=KT("stripe_data__status"))
        .values("status")[:1]
    )
    open_failure = PaymentFailure.objects.filter(
        customer=OuterRef("pk"), resolved_at__isnull=True, downgraded_at__isnull=True
    )
    return queryset.annotate(
        _subscription=Subquery(subscription), _payment_failed=Exists(open_failure)
    )


@admin.display(description="Stripe")
def stripe_status(customer) -> str:
    if getattr(customer, "_payment_failed", False):
        return "payment failed"
    if getattr(customer, "_subscription", None):
        return customer._subscription
    return "customer, no subscription" if customer.stripe_customer_id else "–"


admin_extend(
    Customer,
    columns=[stripe_status],
    after="usage_this_period",
    annotate=_with_stripe_state,
    inlines=[PaymentFailureInline],
)
admin_extend(Plan, inlines=[PlanPriceInline])
