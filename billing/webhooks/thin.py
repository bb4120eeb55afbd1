"""Stripe's v2 thin events (meter errors): the event destination `setup_stripe` registers, and
the signed endpoint that receives its deliveries, `/stripe/events/<uuid>/`.

The signature (`Stripe-Signature`, the destination's own secret, Stripe's 5-minute tolerance) is
verified by stripe-python's `StripeClient.parse_event_notification`; a bad one is a 400 and
nothing is stored. The notification carries only ids: billing/meter_errors.py fetches the event
from Stripe before acting on it, once per event id.
"""

from __future__ import annotations

import logging
import uuid

import stripe
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from billing.errors import StripeUnavailable
from billing.meter_errors import METER_ERROR_EVENTS, stripe_client, thin_event_consume
from billing.models import EventDestination
from billing.stripe_api import stripe_call

logger = logging.getLogger(__name__)


def _exists_at_stripe(client: stripe.StripeClient, destination: EventDestination) -> bool:
    try:
        found = client.v2.core.event_destinations.retrieve(destination.stripe_id)
    except stripe.InvalidRequestError:
        return False
    return found.status == "enabled"


def event_destination_ensure(*, base_url: str) -> EventDestination:
    """A Stripe event destination for the meter-error thin events, delivering to our endpoint on
    `base_url`, with its signing secret stored here (Stripe shows it once). Idempotent: an
    existing one that Stripe still has is kept."""
    base_url = base_url.rstrip("/")
    client = stripe_client()
    for destination in EventDestination.objects.filter(url__startswith=base_url):
        if stripe_call(_exists_at_stripe, client, destination):
            return destination
        destination.delete()  # Stripe forgot it (e.g. a fresh local Stripe server)
    endpoint_uuid = uuid.uuid4()
    url = base_url + reverse("stripe-thin-events", kwargs={"uuid": endpoint_uuid})
    created = stripe_call(
        client.v2.core.event_destinations.create,
        {
            "name": "Pet Store API meter errors",
            "type": "webhook_endpoint",
            "event_payload": "thin",
            "enabled_events": list(METER_ERROR_EVENTS),
            "webhook_endpoint": {"url": url},
            "include": ["webhook_endpoint.signing_secret"],
        },
    )
    return EventDestination.objects.create(
        stripe_id=created.id,
        uuid=endpoint_uuid,
        url=url,
        secret=created.webhook_endpoint.signing_secret,
        enabled_events=list(METER_ERROR_EVENTS),
    )


@method_decorator(csrf_exempt, name="dispatch")
class ThinEventView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, uuid) -> HttpResponse:
        destination = EventDestination.objects.filter(uuid=uuid).first()
        if destination is None:
            raise Http404("No such event destination.")
        try:
            notification = stripe_client().parse_event_notification(
                request.body, request.headers.get("Stripe-Signature"), destination.secret
            )
        except (stripe.SignatureVerificationError, ValueError, KeyError) as exc:
            logger.warning("thin event refused on %s: %s", destination.stripe_id, exc)
            return HttpResponseBadRequest()
        try:
            thin_event_consume(notification)
        except StripeUnavailable:
            return HttpResponse(status=503)  # Stripe delivers it again later
        return HttpResponse(status=200)
