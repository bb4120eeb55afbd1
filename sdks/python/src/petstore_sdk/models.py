"""Typed models of the API's answers (dataclasses). Money is `Decimal`, times are aware
`datetime`s; fields the API adds later are kept in `extra` rather than dropped silently."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import httpx

PetStatus = Literal["available", "pending", "sold"]


@dataclass
class RateLimit:
    limit: int | None
    remaining: int | None
    reset: int | None  # seconds until a slot frees


@dataclass
class ResponseInfo:
    """What an answer said besides its body (`obj.last_response`)."""

    status_code: int
    headers: httpx.Headers = field(repr=False)
    rate_limit: RateLimit | None  # X-RateLimit-*; None on unmetered answers
    usage_cost: int | None  # X-Usage-Cost: units this call cost
    quota_remaining: int | None  # X-Quota-Remaining: units left in the period
    retry_after: float | None  # Retry-After, seconds
    idempotency_key: str | None  # sent with a write


def _dt(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


M = TypeVar("M", bound="Model")


@dataclass(kw_only=True)
class Model:
    last_response: ResponseInfo | None = field(default=None, repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _convert(cls, data: dict[str, Any]) -> dict[str, Any]:
        return data

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any], response: ResponseInfo | None = None) -> M:
        known = {f.name for f in fields(cls)} - {"last_response", "extra"}
        converted = cls._convert(dict(data))
        values = {k: v for k, v in converted.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra, last_response=response)


@dataclass(kw_only=True)
class Pet(Model):
    id: int
    name: str
    species: str = ""
    status: PetStatus = "available"
    tags: list[str] = field(default_factory=list)
    thumbnail_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def _convert(cls, data):
        data["created_at"] = _dt(data.get("created_at"))
        data["updated_at"] = _dt(data.get("updated_at"))
        return data


@dataclass
class ImageInfo:
    format: str
    original_width: int
    original_height: int
    width: int
    height: int


@dataclass(kw_only=True)
class PetWithImage(Pet):
    image: ImageInfo | None = None

    @classmethod
    def _convert(cls, data):
        data = super()._convert(data)
        if data.get("image"):
            data["image"] = ImageInfo(**data["image"])
        return data


@dataclass(kw_only=True)
class Deleted(Model):
    id: int
    deleted: bool = True


@dataclass(kw_only=True)
class Thumbnail(Model):
    """A pet's JPEG thumbnail."""

    content: bytes = field(repr=False)
    content_type: str = "image/jpeg"


@dataclass(kw_only=True)
class Registration(Model):
    customer_id: int
    api_key: str  # shown only once
    plan: str


@dataclass(kw_only=True)
class Analytics(Model):
    total: int
    by_status: dict[str, int]
    by_species: dict[str, int]


@dataclass
class UsageCounts:
    calls: int
    units: int
    errors: int
    refused: int
    refused_rate_limit: int = 0
    refused_quota: int = 0
    refused_feature: int = 0
    refused_key: int = 0
    refused_key_cap: int = 0


@dataclass
class EndpointUsage(UsageCounts):
    endpoint: str = ""


@dataclass
class DayUsage(UsageCounts):
    date: date | None = None


@dataclass
class Period:
    start: datetime
    end: datetime


@dataclass
class PlanSummary:
    slug: str
    name: str
    overage_policy: str


@dataclass
class KeyUsage:
    """One key's usage this period (`Usage.by_key`)."""

    key_id: int
    name: str
    prefix: str
    active: bool
    calls: int
    units: int
    refused_key_cap: int = 0
    monthly_unit_cap: int | None = None
    monthly_spend_cap: Decimal | None = None
    cap_units: int | None = None  # the cap enforced, in units (the lower of the two)


@dataclass(kw_only=True)
class Usage(Model):
    period: Period
    plan: PlanSummary
    units_used: int
    included_units: int | None  # None: unlimited
    remaining_units: int | None
    overage_units: int
    calls: int
    errors: int
    refused: int
    by_endpoint: list[EndpointUsage]
    by_day: list[DayUsage]
    estimated_bill: Quote | None
    forecast: Forecast | None = None
    by_key: list[KeyUsage] = field(default_factory=list)

    @classmethod
    def _convert(cls, data):
        data["by_key"] = [
            KeyUsage(**{**row, "monthly_spend_cap": _money(row.get("monthly_spend_cap"))})
            for row in data.get("by_key", [])
        ]
        data["period"] = Period(_dt(data["period"]["start"]), _dt(data["period"]["end"]))
        data["plan"] = PlanSummary(**data["plan"])
        data["by_endpoint"] = [EndpointUsage(**row) for row in data.get("by_endpoint", [])]
        data["by_day"] = [
            DayUsage(**{**row, "date": date.fromisoformat(row["date"])})
            for row in data.get("by_day", [])
        ]
        bill = data.get("estimated_bill")
        data["estimated_bill"] = Quote.from_dict(bill) if bill else None
        forecast = data.get("forecast")
        data["forecast"] = Forecast.from_dict(forecast) if forecast else None
        return data


@dataclass
class Forecast:
    """The period projected from the customer's recent daily usage (`method` says how, or why
    there is no forecast yet: then the numbers are None)."""

    method: str
    sufficient_history: bool
    daily_units: float | None
    units_at_period_end: int | None
    bill_at_period_end: Quote | None
    quota_exhausted_at: datetime | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Forecast:
        bill = data.get("bill_at_period_end")
        return cls(
            method=data["method"],
            sufficient_history=data["sufficient_history"],
            daily_units=data.get("daily_units"),
            units_at_period_end=data.get("units_at_period_end"),
            bill_at_period_end=Quote.from_dict(bill) if bill else None,
            quota_exhausted_at=_dt(data.get("quota_exhausted_at")),
        )


@dataclass(kw_only=True)
class WebhookEndpoint(Model):
    id: int
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime | None
    disabled_at: datetime | None = None
    disabled_reason: str = ""

    @classmethod
    def _convert(cls, data):
        for name in ("created_at", "disabled_at"):
            data[name] = _dt(data.get(name))
        return data


@dataclass(kw_only=True)
class NewWebhookEndpoint(WebhookEndpoint):
    secret: str  # whsec_…: shown only in this answer


@dataclass(kw_only=True)
class ApiKey(Model):
    id: int
    name: str
    prefix: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    active: bool
    monthly_unit_cap: int | None = None  # units per period; None: no cap
    monthly_spend_cap: Decimal | None = None  # USD per period; None: no cap
    spend_cap_units: int | None = None  # the spend cap in units at the plan's prices
    units_used: int = 0  # billable units this period

    @classmethod
    def _convert(cls, data):
        for name in ("created_at", "last_used_at", "revoked_at", "expires_at"):
            data[name] = _dt(data.get(name))
        data["monthly_spend_cap"] = _money(data.get("monthly_spend_cap"))
        return data


@dataclass(kw_only=True)
class NewApiKey(ApiKey):
    api_key: str  # shown only in this answer


@dataclass
class PaymentMethod:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass
class Subscription:
    plan: str
    plan_name: str
    status: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    payment_method: PaymentMethod | None
    subscription_id: str
    trial_end: datetime | None = None  # while the status is "trialing"

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Subscription | None:
        if not data:
            return None
        pm = data.get("payment_method")
        return cls(
            plan=data["plan"],
            plan_name=data["plan_name"],
            status=data["status"],
            current_period_end=_dt(data.get("current_period_end")),
            cancel_at_period_end=data["cancel_at_period_end"],
            payment_method=PaymentMethod(**pm) if pm else None,
            subscription_id=data["subscription_id"],
            trial_end=_dt(data.get("trial_end")),
        )


@dataclass(kw_only=True)
class SubscribeResult(Model):
    plan: str
    subscription: Subscription | None

    @classmethod
    def _convert(cls, data):
        data["subscription"] = Subscription.from_dict(data.get("subscription"))
        return data


@dataclass(kw_only=True)
class CancelResult(Model):
    subscription: Subscription | None

    @classmethod
    def _convert(cls, data):
        data["subscription"] = Subscription.from_dict(data.get("subscription"))
        return data


@dataclass(kw_only=True)
class Invoice(Model):
    id: str
    number: str
    status: str
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    created: datetime | None
    hosted_invoice_url: str

    @classmethod
    def _convert(cls, data):
        for name in ("total", "amount_due", "amount_paid"):
            data[name] = _money(data.get(name))
        for name in ("period_start", "period_end", "created"):
            data[name] = _dt(data.get(name))
        return data


@dataclass
class QuoteLine:
    description: str
    quantity: int
    unit_price: Decimal | None
    amount: Decimal | None
    kind: str


@dataclass
class QuoteSuggestion:
    plan: str
    plan_name: str
    total: Decimal | None


@dataclass
class QuoteDiscount:
    code: str
    percent_off: Decimal | None
    amount_off: Decimal | None
    duration: str  # once | repeating | forever
    duration_in_months: int | None
    description: str


@dataclass(kw_only=True)
class Quote(Model):
    plan: str
    plan_name: str
    currency: str
    total: Decimal | None  # None: custom pricing
    lines: list[QuoteLine]
    custom: bool
    capped: bool
    suggestion: QuoteSuggestion | None = None
    discount: QuoteDiscount | None = None  # the promotion code's, when one was given
    trial_days: int = 0

    @classmethod
    def _convert(cls, data):
        data["total"] = _money(data.get("total"))
        data["lines"] = [
            QuoteLine(
                description=line["description"],
                quantity=line["quantity"],
                unit_price=_money(line.get("unit_price")),
                amount=_money(line.get("amount")),
                kind=line["kind"],
            )
            for line in data.get("lines", [])
        ]
        s = data.get("suggestion")
        data["suggestion"] = (
            QuoteSuggestion(s["plan"], s["plan_name"], _money(s.get("total"))) if s else None
        )
        d = data.get("discount")
        data["discount"] = (
            QuoteDiscount(
                code=d["code"],
                percent_off=_money(d.get("percent_off")),
                amount_off=_money(d.get("amount_off")),
                duration=d["duration"],
                duration_in_months=d.get("duration_in_months"),
                description=d["description"],
            )
            if d
            else None
        )
        return data


@dataclass
class CreditPack:
    pack: str
    amount: Decimal


@dataclass
class CreditDay:
    date: date
    units: int
    balance: Decimal  # at the end of the day


@dataclass
class CreditGrant:
    kind: str  # purchase | monthly | applied (negative: what credits paid of a period)
    amount: Decimal
    period: str
    created: datetime | None
    stripe_credit_grant_id: str


@dataclass(kw_only=True)
class Credits(Model):
    """Your prepaid credits: balance now, the period's burn-down and the run-out forecast."""

    currency: str
    balance: Decimal
    period_balance: Decimal
    used_this_period: Decimal
    prepaid: bool
    allowance_units: int | None
    runs_out_on: date | None
    forecast_method: str
    daily_units: float | None
    burn_down: list[CreditDay]
    grants: list[CreditGrant]
    packs: list[CreditPack]

    @classmethod
    def _convert(cls, data):
        for name in ("balance", "period_balance", "used_this_period"):
            data[name] = _money(data.get(name))
        runs_out = data.get("runs_out_on")
        data["runs_out_on"] = date.fromisoformat(runs_out) if runs_out else None
        data["burn_down"] = [
            CreditDay(date.fromisoformat(r["date"]), r["units"], Decimal(r["balance"]))
            for r in data.get("burn_down", [])
        ]
        data["grants"] = [
            CreditGrant(
                r["kind"],
                Decimal(r["amount"]),
                r["period"],
                _dt(r.get("created")),
                r.get("stripe_credit_grant_id", ""),
            )
            for r in data.get("grants", [])
        ]
        data["packs"] = [CreditPack(r["pack"], Decimal(r["amount"])) for r in data.get("packs", [])]
        return data


@dataclass(kw_only=True)
class CreditsPurchase(Model):
    """A pack to pay for: open `checkout_url` (Stripe's page); the credits are granted once
    it is paid."""

    pack: str
    amount: Decimal
    checkout_url: str
    session_id: str

    @classmethod
    def _convert(cls, data):
        data["amount"] = _money(data.get("amount"))
        return data
