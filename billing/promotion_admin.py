"""Promotion codes in the operator console: staff create them here; saving creates the Stripe
Coupon and PromotionCode (billing.promotions). Once in Stripe, the discount's terms are
read-only (Stripe cannot change a coupon's amount); `active` can still be switched off."""

from __future__ import annotations

from django.contrib import admin, messages

from billing.promotions import promotion_code_sync
from core.errors import ApplicationError
from pricing.models import PromotionCode, PromotionRedemption

TERMS = [
    "code",
    "percent_off",
    "amount_off",
    "duration",
    "duration_in_months",
    "max_redemptions",
    "expires_at",
]


class RedemptionInline(admin.TabularInline):
    model = PromotionRedemption
    extra = 0
    fields = ["customer", "redeemed_at"]
    readonly_fields = fields
    can_delete = False
    max_num = 0


@admin.register(PromotionCode)
class PromotionCodeAdmin(admin.ModelAdmin):
    inlines = [RedemptionInline]
    list_display = [
        "code",
        "percent_off",
        "amount_off",
        "duration",
        "times_redeemed",
        "max_redemptions",
        "expires_at",
        "active",
        "stripe_promotion_code_id",
    ]
    list_filter = ["active", "duration"]
    search_fields = ["code", "stripe_promotion_code_id", "stripe_coupon_id"]
    fields = [*TERMS, "active", "times_redeemed", "stripe_coupon_id", "stripe_promotion_code_id"]

    def get_readonly_fields(self, request, obj=None):
        synced = ["times_redeemed", "stripe_coupon_id", "stripe_promotion_code_id"]
        if obj is not None and obj.stripe_coupon_id:
            return [*TERMS, *synced]
        return synced

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # switch it off instead: redemptions refer to it

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        try:
            promotion_code_sync(obj)
        except ApplicationError as exc:
            messages.error(request, f"Saved here, but Stripe refused it: {exc.message}")
        else:
            messages.success(request, f"{obj.code} is in Stripe ({obj.stripe_promotion_code_id}).")
