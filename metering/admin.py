from django.contrib import admin
from django.db.models import BigIntegerField, OuterRef, QuerySet, Subquery, Sum

from accounts.models import Customer
from core.admin_tools import CappedPaginator, PeriodFilter, ReadOnlyAdmin, admin_extend
from core.periods import current_period
from metering.models import Endpoint, RequestVoid, UsageRecord


class EndpointFilter(admin.SimpleListFilter):
    """The endpoints of the Endpoint table (not the ledger's distinct values: a full scan)."""

    title = "endpoint"
    parameter_name = "endpoint"

    def lookups(self, request, model_admin):
        return [(e.label, e.label) for e in Endpoint.objects.all()]

    def queryset(self, request, queryset):
        return queryset.filter(endpoint=self.value()) if self.value() else queryset


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    """Weights and classes are editable: metering reloads them within a second."""

    list_display = ["path", "method", "weight", "feature", "billable_class", "updated_at"]
    list_editable = ["weight", "feature", "billable_class"]
    list_filter = ["method", "billable_class", "feature"]
    search_fields = ["path", "description"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    """The ledger is written only by flush_usage: read-only here."""

    list_display = ["hour", "customer", "endpoint", "calls", "units", "errors", "refused"]
    list_filter = [PeriodFilter, EndpointFilter]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "=endpoint"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    paginator = CappedPaginator


@admin.register(RequestVoid)
class RequestVoidAdmin(ReadOnlyAdmin):
    """Requests answered unbilled whose counting Redis did not confirm; the next flush voids
    them in Redis and deletes them (rows that stay mean Redis is still out of reach)."""

    list_display = ["created_at", "customer", "endpoint", "weight", "request_id"]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "=request_id"]
    raw_id_fields = ["customer"]


# --- on accounts' customer page -----------------------------------------------------------


def _with_units_this_period(queryset: QuerySet) -> QuerySet:
    # One aggregate subquery per shown row, over the indexed (customer, hour) ledger.
    period = current_period()
    units = (
        UsageRecord.objects.filter(
            customer=OuterRef("pk"), hour__gte=period.start, hour__lt=period.end
        )
        .order_by()
        .values("customer")
        .annotate(total=Sum("units"))
        .values("total")
    )
    return queryset.annotate(_units=Subquery(units, output_field=BigIntegerField()))


@admin.display(description="usage this period")
def usage_this_period(customer) -> str:
    units = getattr(customer, "_units", None) or 0
    included = customer.plan.included_units
    if included:
        return f"{units:,} / {included:,} ({units * 100 // included}%)"
    return f"{units:,}"


admin_extend(Customer, columns=[usage_this_period], after="mrr", annotate=_with_units_this_period)
