from django.contrib import admin, messages
from django.db.models import Count, Q

from accounts import services
from accounts.models import ApiKey, Customer, Plan, PlanChange


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
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
    ]
    list_filter = ["is_active", "self_serve", "overage_policy"]
    search_fields = ["name", "slug"]
    ordering = ["sort_order"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_customers=Count("customers"))

    @admin.display(description="customers", ordering="_customers")
    def customer_count(self, obj):
        return obj._customers


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "plan", "created_at", "first_call_at", "active_keys"]
    list_filter = ["plan", ("first_call_at", admin.EmptyFieldListFilter)]
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
    ]
    inlines = [ApiKeyInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True)))
        )

    @admin.display(description="active keys", ordering="_active_keys")
    def active_keys(self, obj):
        return obj._active_keys


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
    ]
    readonly_fields = [
        "customer",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
        "expires_at",
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
class PlanChangeAdmin(admin.ModelAdmin):
    list_display = ["customer", "from_plan", "to_plan", "mrr_delta", "reason", "changed_at"]
    list_filter = ["reason", "to_plan", "from_plan"]
    list_select_related = ["customer", "from_plan", "to_plan"]
    search_fields = ["customer__email"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
