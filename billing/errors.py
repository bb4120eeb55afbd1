from __future__ import annotations

from core.errors import ApplicationError, ServiceUnavailable


class CardDeclined(ApplicationError):
    status_code = 402
    code = "card_declined"
    default_message = "The card was declined. Try another card."
    schema_component = "CardError"  # raised with decline_code (billing.stripe_api)


class PaymentMethodRequired(ApplicationError):
    status_code = 400
    code = "payment_method_required"
    default_message = "A payment method is needed to subscribe to a paid plan."


class PlanNotSelfServe(ApplicationError):
    status_code = 400
    code = "plan_not_available"
    default_message = "This plan cannot be chosen here; contact sales."


class ContractPlan(ApplicationError):
    """The customer is on a plan that is not self-serve (a contract, e.g. Enterprise): only staff
    change or cancel it."""

    status_code = 409
    code = "contract_plan"
    default_message = (
        "Your plan is a contract: our sales team changes or cancels it. Contact sales (or your "
        "account manager) to change it."
    )

    @classmethod
    def for_plan(cls, plan_name: str) -> ContractPlan:
        return cls(
            f"Your {plan_name} plan is a contract: only our sales team can change or cancel it. "
            "Contact sales (or your account manager) and they will make the change for you."
        )


class NoSubscription(ApplicationError):
    status_code = 400
    code = "no_subscription"
    default_message = "You have no paid subscription to cancel."


class InvalidPaymentMethod(ApplicationError):
    status_code = 400
    code = "invalid_payment_method"
    default_message = "The payment method was not accepted."


class UsageNotReported(ServiceUnavailable):
    code = "billing_unavailable"
    default_message = (
        "Your usage so far could not be reported to our billing provider, so the plan was not "
        "changed (it would have been billed at the wrong price). Retry shortly."
    )


class StripeUnavailable(ServiceUnavailable):
    code = "billing_unavailable"
    default_message = "Billing is temporarily unavailable. Nothing was changed; retry shortly."


class TrialAlreadyUsed(ApplicationError):
    status_code = 409
    code = "trial_already_used"
    default_message = (
        "You have already had your free trial. Subscribe with a card to use a paid plan."
    )


class TrialNotAvailable(ApplicationError):
    status_code = 400
    code = "trial_not_available"
    default_message = "This plan has no free trial."
