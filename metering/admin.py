from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from accounts.admin import ReadOnlyAdmin
from metering.models import Endpoint, RequestVoid, UsageRecord
from metering.periods import current_period, parse_month

# Counting a ledger of hundreds of millions of rows takes seconds: the changelist counts up to
# this many (enough to page through; filter by customer or period to narrow it down).
LEDGER_COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self):
        return self.object_list[:LEDGER_COUNT_CAP].count()


class PeriodFilter(admin.SimpleListFilter):
    """Billing periods (calendar months, UTC), bounded on the indexed hour: unlike a date
    hierarchy, it never asks the database for the distinct dates of the whole ledger."""

    title = "period"
    parameter_name = "period"

    def lookups(self, request, model_admin):
        period, choices = current_period(), []
        for _ in range(12):
            choices.append((period.label, period.label))
            period = period.previous()
        return choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            period = parse_month(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(hour__gte=period.start, hour__lt=period.end)


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
