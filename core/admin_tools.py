"""Building blocks of the apps' admins, and the way a higher app extends a lower app's admin page.

Each app registers its own models with `@admin.register` on the default site (the operator
console's site: console.apps.ConsoleAdminConfig), and nothing re-registers another app's admin.
A ModelAdmin that higher apps may extend derives from `ExtensibleAdmin`; a higher app adds list
columns (shown on the change page too), inlines, queryset annotations for its columns and checks of
a field by calling `admin_extend(Model, ...)` from its own admin.py, which admin.autodiscover()
imports at start-up. So accounts' customer page shows usage (metering), Stripe status and payment
failures (billing) and alerts (alerts) while accounts imports none of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.utils.functional import cached_property

from core.periods import current_period, parse_month

# Counting a ledger of hundreds of millions of rows takes seconds: the changelist counts up to
# this many (enough to page through; filter by customer or period to narrow it down).
LEDGER_COUNT_CAP = 10_000


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never written here (a service, a background job or Stripe owns the rows)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CappedPaginator(Paginator):
    """For ledger-sized tables: the count stops at LEDGER_COUNT_CAP."""

    @cached_property
    def count(self):
        return self.object_list[:LEDGER_COUNT_CAP].count()


class PeriodFilter(admin.SimpleListFilter):
    """Billing periods (calendar months, UTC) of a table keyed by `hour`, bounded on the indexed
    hour: unlike a date hierarchy, it never asks the database for the distinct dates of a whole
    ledger."""

    title = "period"
    parameter_name = "period"

    def lookups(self, request, model_admin):
        return [(period.label, period.label) for period in current_period().back(12)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            period = parse_month(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(hour__gte=period.start, hour__lt=period.end)


# --- extending another app's admin ----------------------------------------------------------


@dataclass(frozen=True)
class AdminExtension:
    columns: tuple[Callable[[Any], Any], ...] = ()
    after: str | None = None
    inlines: tuple[type[admin.options.InlineModelAdmin], ...] = ()
    annotate: Callable[[QuerySet], QuerySet] | None = None
    validators: dict[str, tuple[Callable[[Any], None], ...]] = field(default_factory=dict)


_extensions: dict[type[Model], list[AdminExtension]] = defaultdict(list)


def admin_extend(
    model: type[Model],
    *,
    columns: Sequence[Callable[[Any], Any]] = (),
    after: str | None = None,
    inlines: Sequence[type[admin.options.InlineModelAdmin]] = (),
    annotate: Callable[[QuerySet], QuerySet] | None = None,
    validators: dict[str, Sequence[Callable[[Any], None]]] | None = None,
) -> None:
    """Add to `model`'s admin page (its ModelAdmin must be an ExtensibleAdmin):
    - `columns`: callables taking the object (decorate them with @admin.display), inserted in the
      list after the column named `after` (else at the end) and shown read-only on the page;
    - `annotate`: what the columns read, added to the list's queryset (one query, not one per
      row);
    - `inlines`: inline admins of the calling app's models;
    - `validators`: field name → validators run on the admin form's value of that field."""
    _extensions[model].append(
        AdminExtension(
            columns=tuple(columns),
            after=after,
            inlines=tuple(inlines),
            annotate=annotate,
            validators={name: tuple(checks) for name, checks in (validators or {}).items()},
        )
    )


def _name(column: Any) -> str:
    return column if isinstance(column, str) else getattr(column, "__name__", "")


class ExtensibleAdmin(admin.ModelAdmin):
    """A ModelAdmin that higher apps extend through `admin_extend` (Django's own hooks:
    get_list_display, get_readonly_fields, get_inlines, get_queryset, get_form)."""

    def _extensions(self) -> list[AdminExtension]:
        return _extensions.get(self.model, [])

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        for extension in self._extensions():
            names = [_name(column) for column in columns]
            at = names.index(extension.after) + 1 if extension.after in names else len(columns)
            columns[at:at] = extension.columns
        return columns

    def get_readonly_fields(self, request, obj=None):
        added = [column for extension in self._extensions() for column in extension.columns]
        return [*super().get_readonly_fields(request, obj), *added]

    def get_inlines(self, request, obj):
        added = [inline for extension in self._extensions() for inline in extension.inlines]
        return [*super().get_inlines(request, obj), *added]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        for extension in self._extensions():
            if extension.annotate is not None:
                queryset = extension.annotate(queryset)
        return queryset

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        for extension in self._extensions():
            for name, checks in extension.validators.items():
                if name in form.base_fields:  # a fresh form class: its fields are its own
                    form.base_fields[name].validators.extend(checks)
        return form
