from django.db import models
from django.utils import timezone


class BillableClass(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    IMAGE = "image", "Image processing"


class Endpoint(models.Model):
    """Cost of one API operation: method + route → weight in usage units, the feature it needs,
    and its billable class. Editable in the admin; changes apply within seconds."""

    method = models.CharField(max_length=7)
    path = models.CharField(max_length=200, help_text="Route template, e.g. /api/v1/pets/{pk}")
    weight = models.PositiveIntegerField(default=1, help_text="Usage units per successful call.")
    feature = models.CharField(
        max_length=40, blank=True, help_text="Plan feature required, e.g. images; empty: none."
    )
    billable_class = models.CharField(
        max_length=10, choices=BillableClass.choices, default=BillableClass.READ
    )
    description = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path", "method"]
        constraints = [
            models.UniqueConstraint(fields=["method", "path"], name="endpoint_method_path_unique")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


# Why a request was refused (401/403/429): the ledger column of each reason and the error code
# the client saw. `refused` is their sum.
REFUSAL_REASONS = {
    "refused_rate_limit": "rate_limit_exceeded",
    "refused_quota": "quota_exceeded",
    "refused_feature": "feature_not_in_plan",
    "refused_key": "invalid_api_key",
    "refused_key_cap": "key_cap_exceeded",
}


class UsageRecord(models.Model):
    """The durable usage ledger: one row per customer, endpoint and hour, filled by flush_usage.
    `calls`/`units` are billable (2xx/3xx); `errors` are 4xx/5xx answers; `refused` are
    refusals (401/403/429) counted for analytics only. On PostgreSQL its table is partitioned
    by month of `hour` (metering/partitions.py): filter on `hour` to read few partitions."""

    # No index of its own: the (customer, hour) index below serves lookups by customer, and
    # every index is written once per ledger row by the flush.
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="usage_records", db_index=False
    )
    endpoint = models.CharField(max_length=220)
    hour = models.DateTimeField()
    calls = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    refused = models.BigIntegerField(default=0)
    # db_default: bulk loaders (seed_demo, COPY) may leave the reason columns out.
    refused_rate_limit = models.BigIntegerField(default=0, db_default=0)
    refused_quota = models.BigIntegerField(default=0, db_default=0)
    refused_feature = models.BigIntegerField(default=0, db_default=0)
    refused_key = models.BigIntegerField(default=0, db_default=0)
    refused_key_cap = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-hour", "endpoint"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "endpoint", "hour"], name="usage_customer_endpoint_hour_unique"
            )
        ]
        indexes = [models.Index(fields=["customer", "hour"]), models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.endpoint} {self.hour:%Y-%m-%d %H}h"


class KeyUsage(models.Model):
    """The per-key ledger: one row per API key and day (UTC), filled by flush_usage from the
    key's pending counters (`<endpoint>|<hour>|key:<id>:<counter>`, metering/store.py), in the
    same transaction as the usage rows. `calls`/`units` billable; `refused_key_cap`: refusals by
    the key's own monthly cap."""

    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="+")
    key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.CASCADE, related_name="usage_days", db_index=False
    )
    day = models.DateField()
    calls = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    refused_key_cap = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "key_id"]
        constraints = [
            models.UniqueConstraint(fields=["key", "day"], name="key_usage_key_day_unique")
        ]
        indexes = [models.Index(fields=["customer", "day"])]

    def __str__(self) -> str:
        return f"key {self.key_id} {self.day}"


class FlushedBatch(models.Model):
    """Marks a flush chunk as applied to the ledger (`key` = the chunk id, which names each of its
    Redis batches; a batch of an earlier release has its own marker, keyed by its name).
    Inserted in the same transaction as the chunk's rows, so a chunk is applied exactly once
    however often a flush retries it (metering/services/flush.py)."""

    key = models.CharField(max_length=120, unique=True)
    applied_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key


class RequestVoid(models.Model):
    """A request answered without being billed (503, or 4xx/5xx) whose admission or refund in
    Redis could not be confirmed (a timeout: the script may have run, or may still run when a
    paused Redis resumes). The flush voids it in Redis, then deletes the row: a refund if it was
    admitted, else a tombstone so that a late admission counts nothing (metering.store,
    UNCOUNT_LUA). Kept in the database because Redis is what could not be reached."""

    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=64, unique=True)
    bucket = models.BigIntegerField(help_text="Names the request record in Redis.")
    period_id = models.CharField(max_length=6)
    endpoint = models.CharField(max_length=220)
    weight = models.IntegerField()
    key_digest = models.CharField(
        max_length=64, blank=True, default="", help_text="The key's SHA-256: its units too."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"void {self.request_id} ({self.endpoint})"
