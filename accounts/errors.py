from core.errors import ApplicationError, Conflict, PermissionDenied, ServiceUnavailable


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists. Log in or use another email."


class KeyLimitReached(PermissionDenied):
    code = "key_limit_reached"
    default_message = "Your plan's number of active keys is reached: revoke a key or upgrade."
    schema_component = "KeyLimitError"


class KeyNotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "No such API key."


class PlanNotFound(ApplicationError):
    status_code = 404
    code = "plan_not_found"
    default_message = "No plan on offer has this slug."
    schema_component = "ParameterError"  # raised with param="plan"


class SignupUnavailable(ServiceUnavailable):
    """The per-address sign-up limit is counted in Redis; while it cannot be checked, sign-up
    is refused rather than left unlimited (a new key could not be used meanwhile anyway: the
    metered API needs Redis too)."""

    default_message = (
        "Sign-up is briefly unavailable (its rate limit cannot be checked). Try again in a minute."
    )
    retry_after = 60

    def __init__(self, message=None, **kwargs):
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(self.retry_after))
        self.extra.setdefault("retry_after", self.retry_after)


class SpendCapNotAvailable(ApplicationError):
    code = "spend_cap_not_available"
    default_message = (
        "A spend cap applies only on a plan that bills overage; on a hard-capped plan usage "
        "above the quota is refused, not billed. Set monthly_unit_cap instead."
    )
