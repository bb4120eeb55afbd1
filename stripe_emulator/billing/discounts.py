"""Discounts: redeeming coupons and promotion codes (``discounts`` on subscriptions, previews
and Checkout) and computing the discount lines of invoices.

Amounts: a ``percent_off`` discount is computed on each discountable line and rounded half
up there (Stripe rounds on the line item level,
https://docs.stripe.com/billing/subscriptions/decimal-amounts); an ``amount_off`` discount
takes at most the discountable amount and is shared among the lines pro rata (largest
remainder). Several discounts apply one after the other to what is left. Prorations are not
discountable here (``discountable: false``), ``applies_to[products]`` limits the lines.
``once`` ends after the first invoice it reduces is finalized, ``repeating`` after
``duration_in_months`` from its start, ``forever`` never.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import StripeError
from ..ids import new_id
from ..invoicing import boundary, round_amount
from ..params import Params
from ..render import RENDERERS, public
from ..resources.coupons import coupon_valid, get_coupon, get_promotion_code
from .base import BillingBase

RENDERERS["discount"] = lambda _store, record: public(record)


def _refused(message: str, param: str, code: str | None = None) -> StripeError:
    return StripeError(400, message, param=param, code=code)


class Discounts(BillingBase):
    def redeem(
        self, entries: list[Params], customer_id: str, sub_id: str, currency: str
    ) -> list[str]:
        """Check and redeem ``discounts[i][coupon|promotion_code|discount]``; returns the
        discount ids."""
        ids: list[str] = []
        coupons: set[str] = set()
        for entry in entries:
            given = [k for k in ("coupon", "promotion_code", "discount") if entry.has(k)]
            if len(given) != 1:
                raise _refused(
                    "Each discount takes exactly one of coupon, discount or promotion_code.",
                    entry.prefix,
                )
            if given[0] == "discount":
                discount_id = entry.str("discount") or ""
                existing = self.store.get("discount", discount_id)
                if existing is None or existing["customer"] != customer_id:
                    raise _refused(f"No such discount: '{discount_id}'", entry.name("discount"))
                ids.append(discount_id)
                coupons.add(existing["source"]["coupon"])
                continue
            promo = None
            if given[0] == "promotion_code":
                promo = get_promotion_code(
                    self.store, entry.str("promotion_code") or "", entry.name("promotion_code")
                )
                self._check_promotion_code(promo, customer_id, entry.name("promotion_code"))
                coupon = get_coupon(
                    self.store, promo["promotion"]["coupon"], entry.name("promotion_code")
                )
            else:
                coupon = get_coupon(self.store, entry.str("coupon") or "", entry.name("coupon"))
            self._check_coupon(coupon, currency, entry.name(given[0]))
            if coupon["id"] in coupons:
                raise _refused("The same coupon cannot be applied twice.", entry.name(given[0]))
            coupons.add(coupon["id"])
            ids.append(self._new_discount(coupon, promo, customer_id, sub_id))
        return ids

    def _check_coupon(self, coupon: dict[str, Any], currency: str, param: str) -> None:
        now = self.ctx.now
        if coupon["redeem_by"] is not None and now >= coupon["redeem_by"]:
            raise _refused(f"Coupon expired: {coupon['id']}", param, "coupon_expired")
        if not coupon_valid(self.store, coupon):
            raise _refused(
                f"Coupon {coupon['id']} has reached its maximum number of redemptions.",
                param,
                "coupon_expired",
            )
        if coupon["currency"] is not None and coupon["currency"] != currency:
            raise _refused(
                f"Coupon {coupon['id']} is in {coupon['currency']}, this invoice in {currency}.",
                param,
            )

    def _check_promotion_code(self, promo: dict[str, Any], customer_id: str, param: str) -> None:
        code = promo["code"]
        if not promo["active"]:
            raise _refused(f"Promotion code `{code}` is inactive.", param)
        if promo["expires_at"] is not None and self.ctx.now >= promo["expires_at"]:
            raise _refused(f"Promotion code `{code}` has expired.", param)
        if (
            promo["max_redemptions"] is not None
            and promo["times_redeemed"] >= promo["max_redemptions"]
        ):
            raise _refused(
                f"Promotion code `{code}` has reached its maximum number of redemptions.", param
            )
        if promo["customer"] is not None and promo["customer"] != customer_id:
            raise _refused(f"Promotion code `{code}` cannot be redeemed by this customer.", param)
        if promo["restrictions"]["first_time_transaction"] and any(
            i["customer"] == customer_id and i["amount_paid"] > 0 for i in self.store.all("invoice")
        ):
            raise _refused(
                f"Promotion code `{code}` is only for customers without prior transactions.",
                param,
            )

    def check_minimum_amounts(self, invoice: dict[str, Any]) -> None:
        """``restrictions[minimum_amount]``: the first invoice's subtotal must reach it."""
        for i, discount_id in enumerate(invoice.get("discounts") or []):
            discount = self.store.get("discount", discount_id) or {}
            promo = self.store.get("promotion_code", discount.get("promotion_code") or "")
            minimum = promo and promo["restrictions"]["minimum_amount"]
            if minimum and invoice["subtotal"] < minimum:
                raise _refused(
                    f"Promotion code `{promo['code']}` needs an order of at least {minimum} "
                    f"{promo['restrictions']['minimum_amount_currency']}.",
                    f"discounts[{i}][promotion_code]",
                )

    def _new_discount(
        self, coupon: dict[str, Any], promo: dict[str, Any] | None, customer_id: str, sub_id: str
    ) -> str:
        now = self.ctx.now
        end = None
        if coupon["duration"] == "repeating":
            end = boundary(now, "month", int(coupon["duration_in_months"]), 1)
        record = {
            "id": new_id("di"),
            "object": "discount",
            "checkout_session": None,
            "customer": customer_id,
            "customer_account": None,
            "end": end,
            "invoice": None,
            "invoice_item": None,
            "promotion_code": promo["id"] if promo else None,
            "source": {"coupon": coupon["id"], "type": "coupon"},
            "start": now,
            "subscription": sub_id,
            "subscription_item": None,
        }
        self.store.insert("discount", record)
        self.store.get_mut("coupon", coupon["id"])["times_redeemed"] += 1
        if promo is not None:
            self.store.get_mut("promotion_code", promo["id"])["times_redeemed"] += 1
        return record["id"]

    def active_discounts(self, sub: dict[str, Any]) -> list[str]:
        now = self.ctx.now
        out = []
        for discount_id in sub.get("discounts") or []:
            discount = self.store.get("discount", discount_id)
            if discount is not None and (discount["end"] is None or now < discount["end"]):
                out.append(discount_id)
        return out

    def _coupon_of(self, discount_id: str) -> dict[str, Any] | None:
        discount = self.store.get("discount", discount_id)
        return None if discount is None else self.store.get("coupon", discount["source"]["coupon"])

    def _apply_discounts(self, invoice: dict[str, Any]) -> int:
        """Set each line's ``discount_amounts`` and the invoice's ``total_discount_amounts``;
        returns the total discount."""
        lines = invoice["_lines"]
        left = {line["id"]: line["amount"] for line in lines}
        for line in lines:
            line["discount_amounts"], line["discounts"] = [], []
        totals = []
        for discount_id in invoice.get("discounts") or []:
            coupon = self._coupon_of(discount_id)
            if coupon is None:
                continue
            products = (coupon.get("applies_to") or {}).get("products")
            eligible = [
                line
                for line in lines
                if line["discountable"]
                and left[line["id"]] > 0
                and (not products or line["pricing"]["price_details"]["product"] in products)
            ]
            shares = self._shares(coupon, [left[line["id"]] for line in eligible])
            for line, share in zip(eligible, shares, strict=True):
                left[line["id"]] -= share
                line["discount_amounts"].append({"amount": share, "discount": discount_id})
                line["discounts"].append(discount_id)
            totals.append({"amount": sum(shares), "discount": discount_id})
        invoice["total_discount_amounts"] = totals
        return sum(t["amount"] for t in totals)

    @staticmethod
    def _shares(coupon: dict[str, Any], amounts: list[int]) -> list[int]:
        if not amounts:
            return []
        if coupon.get("_percent_off") is not None:
            percent = Decimal(coupon["_percent_off"]) / 100
            return [round_amount(Decimal(a) * percent) for a in amounts]
        total = min(int(coupon["amount_off"]), sum(amounts))
        base = sum(amounts)
        exact = [Decimal(total) * a / base for a in amounts]
        shares = [int(e) for e in exact]
        order = sorted(range(len(amounts)), key=lambda i: exact[i] - shares[i], reverse=True)
        for i in order[: total - sum(shares)]:
            shares[i] += 1
        return shares

    def _consume_once(self, invoice: dict[str, Any]) -> None:
        """A ``once`` discount is spent by the first finalized invoice it reduced."""
        for entry in invoice.get("total_discount_amounts") or []:
            coupon = self._coupon_of(entry["discount"])
            if coupon is None or coupon["duration"] != "once" or entry["amount"] <= 0:
                continue
            discount = self.store.get_mut("discount", entry["discount"])
            discount["end"] = self.ctx.now
            sub = self.store.get("subscription", discount["subscription"] or "")
            if sub is not None:
                record = self.store.get_mut("subscription", sub["id"])
                record["discounts"] = [d for d in record["discounts"] if d != entry["discount"]]
