"""The console's own model in the admin: the reconciliation drifts staff were emailed about."""

from django.contrib import admin

from console.models import ReconciliationAlert
from core.admin_tools import ReadOnlyAdmin


@admin.register(ReconciliationAlert)
class ReconciliationAlertAdmin(ReadOnlyAdmin):
    list_display = ["month", "drift_units", "drift_cents", "sent_at"]
    list_filter = ["month"]
