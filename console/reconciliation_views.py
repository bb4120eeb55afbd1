"""The reconciliation page and JSON (staff only, through the console site's staff_view)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import render

from accounts.models import Customer
from console.reconciliation import MAX_CUSTOMERS, cached_month_reconciliation, drift_alert
from console.views import BadMonth, _month
from core.errors import ApplicationError
from core.money import cents_to_dollars, money


def _result(request):
    """The month asked for (default: this one), reconciled; alerts staff of a new drift."""
    period = _month(request, datetime.now(UTC))
    result = cached_month_reconciliation(period, refresh=request.GET.get("refresh") == "1")
    drift_alert(result)
    return period, result


def reconciliation_json(request):
    try:
        _period, result = _result(request)
    except BadMonth as exc:
        return JsonResponse({"error": "invalid_parameter", "message": str(exc)}, status=400)
    except ApplicationError as exc:
        return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status_code)
    return JsonResponse(result)


def reconciliation_page(request):
    context = {**admin.site.each_context(request), "title": "Reconciliation"}
    status = 200
    try:
        period, result = _result(request)
    except BadMonth as exc:
        context["error"], status = str(exc), 400
    except ApplicationError as exc:
        context["error"], status = exc.message, exc.status_code
    else:
        emails = dict(
            Customer.objects.filter(
                pk__in=[c["customer_id"] for c in result["customers"]]
            ).values_list("pk", "email")
        )
        context.update(
            period=period,
            result=result,
            previous_month=period.previous().label,
            max_customers=MAX_CUSTOMERS,
            drift_money=money(cents_to_dollars(result["drift_cents"])),
            credits_granted=money(cents_to_dollars(result["credits_granted_cents"])),
            credits_applied=money(cents_to_dollars(result["credits_applied_cents"])),
            rows=[
                {
                    **row,
                    "email": emails.get(row["customer_id"], ""),
                    "invoiced": money(cents_to_dollars(row["invoiced_cents"])),
                    "quoted": money(cents_to_dollars(row["quoted_cents"])),
                    "drift_money": money(cents_to_dollars(row["drift_cents"])),
                    "credits_granted": money(cents_to_dollars(row["credits_granted_cents"])),
                    "credits_applied": money(cents_to_dollars(row["credits_applied_cents"])),
                    "stripe_credits": money(cents_to_dollars(row["stripe_credits_cents"])),
                    # Cached results from before discounts were shown have no such key.
                    "discounts": money(cents_to_dollars(-row.get("discount_cents", 0)))
                    if row.get("discount_cents")
                    else "–",
                    "drifting": bool(row["drift_units"] or row["drift_cents"]),
                }
                for row in result["customers"]
            ],
        )
    return render(request, "console/reconciliation.html", context, status=status)
