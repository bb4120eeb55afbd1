from petstore.errors import ApplicationError, Conflict, PermissionDenied


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists. Log in or use another email."


class KeyLimitReached(PermissionDenied):
    code = "key_limit_reached"


class KeyNotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "No such API key."


class PlanNotAvailable(ApplicationError):
    code = "plan_not_available"
    default_message = "This plan cannot be chosen here."
