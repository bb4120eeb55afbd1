from django.contrib import admin

from metering.models import Endpoint, UsageRecord


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["path", "method", "weight", "feature", "billable_class", "updated_at"]
    list_editable = ["weight", "feature", "billable_class"]
    list_filter = ["method", "billable_class", "feature"]
    search_fields = ["path", "description"]


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """The ledger is written only by flush_usage: read-only here."""

    list_display = ["hour", "customer", "endpoint", "calls", "units", "errors", "refused"]
    list_filter = ["endpoint"]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "endpoint"]
    date_hierarchy = "hour"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
