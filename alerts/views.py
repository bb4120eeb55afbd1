"""The dashboard's alerts page: the customer's thresholds and this period's alerts."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Customer
from accounts.views import customer_required
from alerts import selectors, services
from alerts.forms import AlertSettingsForm
from core.errors import ApplicationError
from core.periods import current_period
from metering.views import period_usage


@customer_required
@require_http_methods(["GET", "POST"])
def alerts_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    current_settings = selectors.alert_settings(customer)
    initial = {
        "thresholds": ", ".join(str(t) for t in current_settings.thresholds),
        "email_enabled": current_settings.email_enabled,
        "forecast_enabled": current_settings.forecast_enabled,
        "spend_threshold": current_settings.spend_threshold,
    }
    form = AlertSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.alert_settings_update(
                    customer=customer,
                    thresholds=form.cleaned_data["thresholds"],
                    email_enabled=form.cleaned_data["email_enabled"],
                    forecast_enabled=form.cleaned_data["forecast_enabled"],
                    spend_threshold=form.cleaned_data["spend_threshold"],
                )
            except ApplicationError as exc:
                field = "spend_threshold" if exc.code == "invalid_spend_threshold" else "thresholds"
                form.add_error(field, exc.message)
                status = exc.status_code
            else:
                messages.success(request, "Alert settings saved.")
                return redirect("dashboard-alerts")
    plan = customer.plan
    period = current_period()
    breakdown, usage = period_usage(customer, period)
    used = breakdown.total.units
    included = plan.included_units
    thresholds = [
        {"percent": t, "units": None if not included else included * t // 100}
        for t in current_settings.thresholds
    ]
    context = {
        "customer": customer,
        "plan": plan,
        "form": form,
        "settings": current_settings,
        "thresholds": thresholds,
        "units_used": used,
        "included_units": included,
        "percent_used": None if not included else used * 100 / included,
        "alerts": selectors.current_alerts(customer),
        "notices": selectors.current_notices(customer),
        "forecast_text": usage["forecast_text"],
        "period": period,
    }
    return render(request, "alerts/alerts.html", context, status=status)
