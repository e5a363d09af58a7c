"""The request pipeline every sandbox endpoint runs through (order in the package docstring)."""

from __future__ import annotations

import functools
import logging
import random
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.machinery.ratelimit import RateDecision, rate_consume
from apps.sandbox.machinery.vendor import VendorError
from apps.sandbox.models import SandboxRequest, SandboxSite, SandboxToken

logger = logging.getLogger(__name__)


class DroppedConnection(ConnectionAbortedError):
    """Raised while streaming a response the sandbox decided to cut off: the server closes the socket
    after a few bytes, and the client sees an incomplete read."""


@dataclass
class SandboxContext:
    site: SandboxSite
    token: SandboxToken | None
    seq: int
    rng: random.Random
    rate: RateDecision = field(default_factory=RateDecision.unlimited)


@dataclass(frozen=True)
class FaultDraw:
    jitter_ms: int
    fault: str  # "" or one of SandboxSite.FAULT_KINDS


def fault_draw(site: SandboxSite, rng: random.Random) -> FaultDraw:
    """Always draws the same three numbers in the same order, so a seed fixes every outcome."""
    jitter_roll, fault_roll, kind_roll = rng.random(), rng.random(), rng.random()
    jitter = int(jitter_roll * site.latency_jitter_ms)
    kinds = [k for k in (site.fault_kinds or []) if k in SandboxSite.FAULT_KINDS]
    fault = ""
    if kinds and site.fault_rate > 0 and fault_roll < site.fault_rate:
        fault = kinds[int(kind_roll * len(kinds)) % len(kinds)]
    return FaultDraw(jitter_ms=jitter, fault=fault)


def _next_seq(site: SandboxSite) -> int:
    with transaction.atomic():
        SandboxSite.objects.filter(pk=site.pk).update(request_seq=F("request_seq") + 1)
        return SandboxSite.objects.filter(pk=site.pk).values_list("request_seq", flat=True).get()


def _dropped(response: HttpResponse) -> StreamingHttpResponse:
    body = bytes(response.content) if not response.streaming else b""

    def stream():
        yield body[: max(1, len(body) // 3)]
        raise DroppedConnection("The sandbox dropped this connection (fault injection).")

    dropped = StreamingHttpResponse(stream(), status=response.status_code,
                                    content_type=response.get("Content-Type", "application/json"))
    dropped["Content-Length"] = str(max(len(body), 2))
    dropped.sandbox_fault = "drop"
    return dropped


def _response_bytes(response) -> int:
    if response.streaming:
        return int(response.get("Content-Length") or 0)
    return len(response.content)


def sandbox_endpoint(adapter, *, name: str, scope: str | None, auth: bool):
    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, site, **kwargs):
            started = time.monotonic()
            site_obj = SandboxSite.objects.filter(slug=site, kind__in=adapter.kinds).first()
            if site_obj is None:
                return adapter.not_found_site_response(request, site)
            # A request number is only needed to draw faults and jitter; without them the site skips the write.
            needs_draw = (site_obj.fault_rate > 0 and site_obj.fault_kinds) or site_obj.latency_jitter_ms
            seq = _next_seq(site_obj) if needs_draw else 0
            ctx = SandboxContext(site=site_obj, token=None, seq=seq, rng=random.Random(f"{site_obj.seed}:{seq}"))
            fault = ""
            status = 500
            response = None
            try:
                response, fault = _serve(adapter, view, request, ctx, scope, auth, kwargs)
                status = response.status_code
                return response
            finally:
                if site_obj.log_requests:
                    SandboxRequest.objects.create(
                        site=site_obj,
                        token=ctx.token,
                        seq=seq,
                        method=request.method[:10],
                        path=request.path[:500],
                        endpoint=name[:120],
                        status=status,
                        request_bytes=int(request.META.get("CONTENT_LENGTH") or 0),
                        response_bytes=_response_bytes(response) if response is not None else 0,
                        duration_ms=int((time.monotonic() - started) * 1000),
                        fault=fault,
                    )

        wrapper.sandbox_endpoint_name = name
        return wrapper

    return decorator


def _serve(adapter, view, request, ctx: SandboxContext, scope, auth, kwargs):
    site = ctx.site
    draw = fault_draw(site, ctx.rng)
    if auth:
        token = adapter.authenticate(request, site)
        if token is None:
            return adapter.unauthenticated_response(request, site), ""
        ctx.token = token
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            SandboxToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        needed = scope.get(request.method, scope.get("*")) if isinstance(scope, dict) else scope
        if not adapter.token_has_scope(token, needed):
            return adapter.forbidden_response(request, site, needed), ""

    decision = rate_consume(site=site, token=ctx.token)
    ctx.rate = decision
    if decision.blocked:
        response = adapter.rate_limited_response(request, decision)
        for key, value in adapter.rate_limit_headers_for(site, decision).items():
            response.setdefault(key, value)
        return response, ""
    if decision.delay_s:
        time.sleep(decision.delay_s)

    latency_ms = site.latency_ms + draw.jitter_ms
    if latency_ms:
        time.sleep(latency_ms / 1000)

    if draw.fault == "http_429":
        # A throttle answer whatever the budgets say (the vendor's own 429 body and Retry-After): what a
        # busy tenant sees now and then, without a test depending on how fast its machine is.
        throttled = RateDecision(limited=True, blocked=True, delay_s=0.0, limit=decision.limit or 1, remaining=0,
                                 used=decision.used, reset_epoch=int(time.time()) + 1, retry_after=1,
                                 resource="site")
        return adapter.rate_limited_response(request, throttled), draw.fault
    if draw.fault in ("http_500", "http_503"):
        status = 500 if draw.fault == "http_500" else 503
        message = "The sandbox injected this server error." if status == 500 else "The service is unavailable (injected)."
        response = adapter.error_response(request, VendorError(status, message))
        return response, draw.fault
    if draw.fault == "slow":
        time.sleep(site.slow_ms / 1000)

    try:
        response = view(request, ctx, **kwargs)
    except VendorError as error:
        response = adapter.error_response(request, error)
    for key, value in adapter.rate_limit_headers_for(site, decision).items():
        response[key] = value
    if draw.fault == "drop":
        # Dropped after the view ran: the write happened, the client never hears of it. A migration tool
        # must survive exactly this.
        return _dropped(response), "drop"
    return response, draw.fault
