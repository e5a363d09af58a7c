"""Tenant isolation: every customer-owned row carries its organisation, and reading without saying
which organisation is an error, not a leak.

`Model.objects` refuses to run a query until it is scoped with `.for_organisation(org)`, or reached
through a parent object (`connection.scans.all()`), whose own lookup was scoped. Staff tools and
background tasks that work from ids they were handed use `Model.unscoped`, on purpose and in plain sight.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

# Set while Django validates a model's unique fields and constraints: those checks read through the default
# manager (`objects`) and only ask whether a clashing row exists, which the database would reveal anyway.
_validating = ContextVar("migrayt_tenancy_validating", default=False)


class UnscopedQueryError(RuntimeError):
    pass


@contextmanager
def _model_validation():
    token = _validating.set(True)
    try:
        yield
    finally:
        _validating.reset(token)


class OrganisationQuerySet(models.QuerySet):
    _org_scoped = False

    def for_organisation(self, organisation):
        if organisation is None:
            raise UnscopedQueryError("for_organisation() needs an organisation, got None.")
        qs = self.filter(organisation=organisation)
        qs._org_scoped = True
        return qs

    def _clone(self):
        clone = super()._clone()
        clone._org_scoped = self._org_scoped
        return clone

    def _guard(self):
        # A related manager (parent.children.all()) marks its queryset with the parent it came from.
        if self._org_scoped or self._known_related_objects or _validating.get():
            return
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects must be scoped with .for_organisation(org); "
            f"use {self.model.__name__}.unscoped only where crossing organisations is intended."
        )

    def _fetch_all(self):
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._guard()
        yield from super()._iterator(use_chunked_fetch, chunk_size)

    def count(self):
        self._guard()
        return super().count()

    def exists(self):
        self._guard()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._guard()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._guard()
        return super().update(**kwargs)

    def delete(self):
        self._guard()
        return super().delete()


class OrganisationManager(models.Manager.from_queryset(OrganisationQuerySet)):
    pass


class OrganisationOwned(models.Model):
    """Base for every customer-owned model."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")

    objects = OrganisationManager()
    unscoped = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    # ModelForms and full_clean() check unique fields and constraints through `objects`; let them.
    def validate_unique(self, exclude=None):
        with _model_validation():
            return super().validate_unique(exclude)

    def validate_constraints(self, exclude=None):
        with _model_validation():
            return super().validate_constraints(exclude)
