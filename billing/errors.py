from petstore.errors import ApplicationError, ServiceUnavailable


class CardDeclined(ApplicationError):
    status_code = 402
    code = "card_declined"
    default_message = "The card was declined. Try another card."


class PaymentMethodRequired(ApplicationError):
    status_code = 400
    code = "payment_method_required"
    default_message = "A payment method is needed to subscribe to a paid plan."


class PlanNotSelfServe(ApplicationError):
    status_code = 400
    code = "plan_not_available"
    default_message = "This plan cannot be chosen here; contact sales."


class NoSubscription(ApplicationError):
    status_code = 400
    code = "no_subscription"
    default_message = "You have no paid subscription to cancel."


class InvalidPaymentMethod(ApplicationError):
    status_code = 400
    code = "invalid_payment_method"
    default_message = "The payment method was not accepted."


class StripeUnavailable(ServiceUnavailable):
    code = "billing_unavailable"
    default_message = "Billing is temporarily unavailable. Nothing was changed; retry shortly."
