"""Fixed-window request budgets per site and per token, kept in the database so every process of the
demo (web server, test client, bench) shares them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.sandbox.models import SandboxRateWindow, SandboxSite, SandboxToken


@dataclass(frozen=True)
class RateDecision:
    """What the budgets say about one request. `resource` names the budget that is tightest."""

    limited: bool  # a budget applies at all
    blocked: bool
    delay_s: float
    limit: int
    remaining: int
    used: int
    reset_epoch: int
    retry_after: int
    resource: str  # "site" or "token"

    @classmethod
    def unlimited(cls) -> RateDecision:
        return cls(False, False, 0.0, 0, 0, 0, 0, 0, "")


def _count(site: SandboxSite, token: SandboxToken | None, window_start: int) -> int:
    rows = SandboxRateWindow.objects.filter(site=site, token=token, window_start=window_start)
    if not rows.update(used=F("used") + 1):
        try:
            with transaction.atomic():
                SandboxRateWindow.objects.create(site=site, token=token, window_start=window_start, used=1)
            # An old window is never read again.
            SandboxRateWindow.objects.filter(site=site, window_start__lt=window_start).delete()
            return 1
        except IntegrityError:  # another process created it first
            rows.update(used=F("used") + 1)
    return rows.values_list("used", flat=True).first() or 1


def rate_consume(*, site: SandboxSite, token: SandboxToken | None, now: float | None = None) -> RateDecision:
    """Count one request against the site's and the token's budgets and say whether to serve it."""
    budgets = []
    if site.rate_limit_site:
        budgets.append(("site", None, site.rate_limit_site))
    if site.rate_limit_token and token is not None:
        budgets.append(("token", token, site.rate_limit_token))
    if not budgets:
        return RateDecision.unlimited()

    now = time.time() if now is None else now
    window = max(1, site.rate_window_seconds)
    window_start = int(now // window * window)
    reset_epoch = window_start + window
    retry_after = max(1, math.ceil(reset_epoch - now))

    worst = None
    with transaction.atomic():
        for resource, budget_token, limit in budgets:
            used = _count(site, budget_token, window_start)
            pressure = used / limit
            if worst is None or pressure > worst[0]:
                worst = (pressure, resource, limit, used)
    _, resource, limit, used = worst
    blocked = used > limit
    delay_threshold = limit * site.delay_after_percent / 100
    delay_s = site.delay_ms / 1000 if (not blocked and used > delay_threshold) else 0.0
    return RateDecision(
        limited=True,
        blocked=blocked,
        delay_s=delay_s,
        limit=limit,
        remaining=max(0, limit - used),
        used=used,
        reset_epoch=reset_epoch,
        retry_after=retry_after,
        resource=resource,
    )
