"""Metering writes: admitting and counting requests (Redis), flushing counters into the ledger
(PostgreSQL), and keeping the endpoint table in step with the routes. See metering/store.py for
the Redis layout."""

from metering.services.admission import (
    PERIOD_KEY_GRACE,
    WINDOW_MS,
    Admission,
    AdmissionRequest,
    CountedRequest,
    UnconfirmedAdmission,
    admission_call,
    admission_send,
    period_seed,
    quota_remaining,
    rate_headers,
    request_admit,
    request_finish,
    request_void,
)
from metering.services.endpoints import endpoints_sync
from metering.services.flush import FlushResult, flushed_batches_prune, usage_flush, voids_apply

__all__ = [
    "PERIOD_KEY_GRACE",
    "WINDOW_MS",
    "Admission",
    "AdmissionRequest",
    "CountedRequest",
    "FlushResult",
    "UnconfirmedAdmission",
    "admission_call",
    "admission_send",
    "endpoints_sync",
    "flushed_batches_prune",
    "period_seed",
    "quota_remaining",
    "rate_headers",
    "request_admit",
    "request_finish",
    "request_void",
    "usage_flush",
    "voids_apply",
]
