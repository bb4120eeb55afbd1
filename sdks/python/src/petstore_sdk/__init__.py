"""Client for the Pet Store API.

from petstore_sdk import PetStore

client = PetStore(api_key="ps_live_…")
pets = client.pets.list()
new_pet = client.pets.create(name="Buddy", status="available")
client.pets.update(new_pet.id, status="sold")
"""

from petstore_sdk._async_client import AsyncPage, AsyncPetStore
from petstore_sdk._base import DEFAULT_BASE_URL, USER_AGENT, RetryEvent, parse_retry_after
from petstore_sdk._client import Page, PetStore
from petstore_sdk._operations import OPERATIONS, Operation
from petstore_sdk._version import __version__
from petstore_sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    CreditsExhaustedError,
    FeatureNotInPlanError,
    KeyCapExceeded,
    KeyCapExceededError,
    NotFoundError,
    PermissionDeniedError,
    PetStoreError,
    QuotaExceededError,
    RateLimitError,
    ValidationError,
)
from petstore_sdk.models import ResponseInfo
from petstore_sdk.webhooks import WebhookSignatureError, construct_event, verify_signature

__all__ = [
    "DEFAULT_BASE_URL",
    "OPERATIONS",
    "USER_AGENT",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncPage",
    "AsyncPetStore",
    "AuthenticationError",
    "ConflictError",
    "CreditsExhaustedError",
    "FeatureNotInPlanError",
    "KeyCapExceeded",
    "KeyCapExceededError",
    "NotFoundError",
    "Operation",
    "Page",
    "PermissionDeniedError",
    "PetStore",
    "PetStoreError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseInfo",
    "RetryEvent",
    "ValidationError",
    "WebhookSignatureError",
    "__version__",
    "construct_event",
    "parse_retry_after",
    "verify_signature",
]
