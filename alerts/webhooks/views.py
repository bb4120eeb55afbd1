"""The dashboard's webhooks pages: endpoints (add, delete, enable) and each one's delivery log
with "Resend". The signing secret of a new endpoint is kept in the session until the next page
shows it, once (as a new API key is)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Customer, Feature
from accounts.views import customer_required
from alerts.webhooks import selectors, services
from alerts.webhooks.addresses import MAX_URL_LENGTH
from core.errors import ApplicationError, NotFound
from core.events import EVENT_TYPES

NEW_SECRET_SESSION = "alerts.webhooks.new_secret"


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        max_length=MAX_URL_LENGTH,
        label="Endpoint URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/petstore/webhooks"}),
    )
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        label="Events to send",
        initial=list(EVENT_TYPES),
    )


def _own_endpoint(customer: Customer, pk: int):
    try:
        return selectors.customer_endpoint(customer, pk)
    except NotFound as exc:  # a page: Django's 404, not the API's JSON
        raise Http404(exc.message) from exc


@customer_required
@require_http_methods(["GET", "POST"])
def webhooks_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    allowed = customer.plan.allows(Feature.WEBHOOKS)
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if not allowed:
            status = 403
        elif form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    customer=customer,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                )
            except ApplicationError as exc:
                form.add_error("url" if exc.code == "invalid_webhook_url" else None, exc.message)
                status = exc.status_code
            else:
                request.session[NEW_SECRET_SESSION] = {"id": endpoint.pk, "secret": secret}
                messages.success(request, f"Endpoint {endpoint.url} added.")
                return redirect("dashboard-webhooks")
    context = {
        "customer": customer,
        "plan": customer.plan,
        "allowed": allowed,
        "form": form,
        "endpoints": selectors.customer_endpoints(customer),
        "new_secret": request.session.pop(NEW_SECRET_SESSION, None),
        "event_types": EVENT_TYPES,
    }
    return render(request, "alerts/webhooks.html", context, status=status)


@customer_required
@require_http_methods(["GET"])
def webhook_endpoint_page(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    endpoint = _own_endpoint(customer, pk)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "endpoint": endpoint,
        "deliveries": selectors.endpoint_deliveries(endpoint),
    }
    return render(request, "alerts/webhook_endpoint.html", context)


@customer_required
@require_POST
def webhook_endpoint_delete(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    endpoint = _own_endpoint(customer, pk)
    services.webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("dashboard-webhooks")


@customer_required
@require_POST
def webhook_endpoint_enable(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    endpoint = _own_endpoint(customer, pk)
    services.webhook_endpoint_enable(endpoint=endpoint)
    messages.success(request, "Endpoint enabled: new events are delivered to it again.")
    return redirect("dashboard-webhook", pk=endpoint.pk)


@customer_required
@require_POST
def webhook_delivery_resend(
    request: HttpRequest, customer: Customer, pk: int, delivery_id: int
) -> HttpResponse:
    endpoint = _own_endpoint(customer, pk)
    try:
        delivery = selectors.endpoint_delivery(endpoint, delivery_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        services.webhook_delivery_resend(delivery=delivery)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Event {delivery.event_id} queued for delivery again.")
    return redirect("dashboard-webhook", pk=endpoint.pk)
