"""Usage alerts in the operator console, and on accounts' customer page (core.admin_tools)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts.models import Customer
from alerts.models import (
    AlertSettings,
    PeriodNotice,
    UsageAlert,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from alerts.services import MAX_THRESHOLDS
from core.admin_tools import ReadOnlyAdmin, admin_extend


class AlertSettingsForm(forms.ModelForm):
    class Meta:
        model = AlertSettings
        fields = ["customer", "thresholds", "email_enabled", "forecast_enabled", "spend_threshold"]

    def clean_thresholds(self):
        thresholds = self.cleaned_data.get("thresholds")
        if not isinstance(thresholds, list) or not 1 <= len(set(thresholds)) <= MAX_THRESHOLDS:
            raise forms.ValidationError(f"Give between 1 and {MAX_THRESHOLDS} thresholds.")
        if any(
            isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= 500 for t in thresholds
        ):
            raise forms.ValidationError("Thresholds are whole percentages between 1 and 500.")
        return sorted(set(thresholds))


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    form = AlertSettingsForm
    list_display = [
        "customer",
        "thresholds",
        "email_enabled",
        "forecast_enabled",
        "spend_threshold",
        "updated_at",
    ]
    list_filter = ["email_enabled"]
    list_select_related = ["customer"]
    search_fields = ["customer__email"]
    raw_id_fields = ["customer"]


@admin.register(UsageAlert)
class UsageAlertAdmin(ReadOnlyAdmin):
    """Recorded and emailed by the send_usage_alerts task, once per threshold per period."""

    list_display = [
        "created_at",
        "customer",
        "period",
        "threshold",
        "units_used",
        "included_units",
        "emailed_at",
    ]
    list_filter = ["period", "threshold", ("emailed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["customer"]
    search_fields = ["customer__email"]
    date_hierarchy = "created_at"


@admin.register(PeriodNotice)
class PeriodNoticeAdmin(ReadOnlyAdmin):
    """Forecast and quota notices, recorded by send_usage_alerts once per kind per period."""

    list_display = ["created_at", "customer", "period", "kind", "emailed_at"]
    list_filter = ["period", "kind"]
    list_select_related = ["customer"]
    search_fields = ["customer__email"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Customers' outbound webhook endpoints (managed by customers; the secret never shown)."""

    list_display = ["url", "customer", "created_at", "failing_since", "disabled_at"]
    list_filter = [("disabled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "url"]
    exclude = ["secret_encrypted"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "customer", "created_at"]
    list_filter = ["type"]
    list_select_related = ["customer"]
    search_fields = ["id", "customer__email"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_response_code",
        "last_latency_ms",
        "next_attempt_at",
    ]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__id", "endpoint__url"]


# --- on accounts' customer page ---------------------------------------------------------------


class AlertSettingsInline(admin.StackedInline):
    model = AlertSettings
    extra = 0
    max_num = 1
    fields = ["thresholds", "email_enabled", "forecast_enabled", "spend_threshold"]


class UsageAlertInline(admin.TabularInline):
    model = UsageAlert
    extra = 0
    fields = ["period", "threshold", "units_used", "included_units", "created_at", "emailed_at"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-period", "-threshold"]
    max_num = 0


admin_extend(Customer, inlines=[AlertSettingsInline, UsageAlertInline])
