from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from accounts import services
from accounts.models import ApiKey, Customer, Plan, PlanChange
from accounts.selectors import plan_mrr
from core.admin_tools import ExtensibleAdmin, ReadOnlyAdmin
from core.money import money

# The change-plan action calls the service once per customer: a bulk move of thousands of
# customers is a data migration, not an admin action.
MAX_PLAN_CHANGES = 500


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), empty_label=None)
    reason = forms.CharField(
        max_length=40, initial="admin", help_text="Recorded in the plan-change history."
    )


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = "__all__"  # noqa: DJ007 (the whole catalogue row is the operator's to edit)

    def clean_pricing(self):
        # An emptied box is "no usage pricing" (the pricing app checks what is there).
        return self.cleaned_data.get("pricing") or {}


@admin.register(Plan)
class PlanAdmin(ExtensibleAdmin):
    """Plans and their pricing (checked by the pricing app, synced to Stripe by billing with
    `manage.py sync_stripe_catalog`)."""

    form = PlanForm
    list_display = [
        "name",
        "slug",
        "monthly_price",
        "included_units",
        "overage_policy",
        "rate_limit_per_minute",
        "max_keys",
        "self_serve",
        "is_active",
        "customer_count",
        "mrr_each",
    ]
    list_filter = ["is_active", "self_serve", "overage_policy"]
    search_fields = ["name", "slug"]
    ordering = ["sort_order"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_customers=Count("customers"))

    @admin.display(description="customers", ordering="_customers")
    def customer_count(self, obj):
        return obj._customers

    @admin.display(description="MRR per customer")
    def mrr_each(self, obj):
        return "custom" if obj.is_custom_priced else money(plan_mrr(obj))


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PlanChangeInline(admin.TabularInline):
    model = PlanChange
    fk_name = "customer"
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_plan", "to_plan", "from_mrr", "to_mrr", "reason"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ExtensibleAdmin):
    """Plans change only through the change-plan action (the service records the history).
    Metering, billing and alerts add their columns and inlines (core.admin_tools)."""

    list_display = ["email", "plan", "mrr", "created_at", "first_call_at", "active_keys"]
    list_filter = [
        "plan",
        ("first_call_at", admin.EmptyFieldListFilter),
        ("stripe_customer_id", admin.EmptyFieldListFilter),
        "created_at",
    ]
    list_select_related = ["plan"]
    search_fields = ["email", "name", "stripe_customer_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "user",
        "created_at",
        "first_call_at",
        "plan_changed_at",
        "stripe_customer_id",
        "plan",
        "mrr",
    ]
    inlines = [ApiKeyInline, PlanChangeInline]
    actions = ["change_plan"]

    def get_queryset(self, request):
        # A correlated subquery, evaluated only for the page's rows (a COUNT over a join would
        # group every customer first).
        active = (
            ApiKey.objects.filter(customer=OuterRef("pk"), revoked_at__isnull=True)
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(_active_keys=Coalesce(Subquery(active, output_field=IntegerField()), 0))
        )

    @admin.display(description="active keys")
    def active_keys(self, obj):
        return obj._active_keys

    @admin.display(description="MRR", ordering="plan__monthly_price")
    def mrr(self, obj):
        return money(plan_mrr(obj.plan))

    @admin.action(description="Change plan of selected customers…")
    def change_plan(self, request, queryset):
        count = queryset.count()
        if count > MAX_PLAN_CHANGES:
            self.message_user(
                request,
                f"Select at most {MAX_PLAN_CHANGES} customers to change their plan.",
                messages.ERROR,
            )
            return None
        form = ChangePlanForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            plan, reason = form.cleaned_data["plan"], form.cleaned_data["reason"]
            changed = 0
            for customer in queryset.select_related("plan"):
                if customer.plan_id != plan.pk:
                    services.customer_change_plan(customer=customer, plan=plan, reason=reason)
                    changed += 1
            self.message_user(
                request, f"Moved {changed} customer(s) to {plan.name}.", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Change plan",
            "opts": self.model._meta,
            "form": form,
            "customers": queryset.select_related("plan")[:50],
            "count": count,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/accounts/customer/change_plan.html", context)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "customer", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    list_select_related = ["customer"]
    search_fields = ["prefix", "name", "customer__email"]
    date_hierarchy = "created_at"
    # The hash is never shown and keys are never typed in here: customers create them.
    fields = [
        "customer",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
        "expires_at",
        "monthly_unit_cap",
        "monthly_spend_cap",
        "spend_cap_units",
    ]
    # Caps are the customer's own (PATCH /api/v1/keys/{id}, the keys page): shown, not edited.
    readonly_fields = [
        "customer",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
        "expires_at",
        "monthly_unit_cap",
        "monthly_spend_cap",
        "spend_cap_units",
    ]
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for api_key in keys:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    """The history metrics are computed from: written only by the plan-change service."""

    list_display = [
        "changed_at",
        "customer",
        "from_plan",
        "to_plan",
        "from_mrr",
        "to_mrr",
        "mrr_delta",
        "reason",
    ]
    list_filter = ["reason", "to_plan", "from_plan"]
    list_select_related = ["customer", "from_plan", "to_plan"]
    search_fields = ["customer__email"]
    date_hierarchy = "changed_at"
    raw_id_fields = ["customer"]
