"""Stripe's webhook endpoint: dj-stripe's view behind a signature check of our own.

Why not dj-stripe's view alone: when DEBUG is on (as `make run` used to force, and as `DEBUG=true`
still does), dj-stripe 2.11 lets an `X-Djstripe-Webhook-Secret` request header replace the
endpoint's secret (it is meant for the Stripe CLI's forwarding), so anyone who can reach the
endpoint signs an event with a secret of their own and has it processed. dj-stripe has no setting
to turn that off. So before dj-stripe sees a request, the `Stripe-Signature` is verified here
against the endpoint's stored secret with its tolerance (Stripe's 5 minutes unless set lower),
whatever DEBUG says and whatever validation method the endpoint row names; a failure is a 400 and
nothing is stored. The header is then dropped, so dj-stripe's own check uses the stored secret too.
"""

from __future__ import annotations

import logging

import stripe
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from djstripe.models import WebhookEndpoint
from djstripe.views import ProcessWebhookView

logger = logging.getLogger(__name__)

SECRET_OVERRIDE_META = "HTTP_X_DJSTRIPE_WEBHOOK_SECRET"


class StripeWebhookView(ProcessWebhookView):
    """Mounted at dj-stripe's own URL (`djstripe:djstripe_webhook_by_uuid`), ahead of it."""

    def post(self, request: HttpRequest, uuid) -> HttpResponse:
        signature = request.headers.get("Stripe-Signature")
        if not signature:
            return HttpResponseBadRequest()
        endpoint = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).first()
        if endpoint is None:
            raise Http404("No such webhook endpoint.")
        tolerance = endpoint.djstripe_tolerance or stripe.Webhook.DEFAULT_TOLERANCE
        try:
            stripe.WebhookSignature.verify_header(
                request.body, signature, endpoint.secret, tolerance
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            logger.warning("stripe webhook refused on %s: %s", endpoint.id, exc)
            return HttpResponseBadRequest()
        if SECRET_OVERRIDE_META in request.META:
            logger.warning("stripe webhook: ignoring an X-Djstripe-Webhook-Secret header")
            del request.META[SECRET_OVERRIDE_META]
            request.__dict__.pop("headers", None)  # HttpRequest.headers is cached from META
        return super().post(request, uuid)
