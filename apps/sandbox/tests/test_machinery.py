import json
import time

import pytest
from django.test import RequestFactory

from apps.sandbox import selectors, services
from apps.sandbox.machinery import RateDecision, VendorAdapter, VendorError, token_lookup
from apps.sandbox.machinery.pipeline import DroppedConnection
from apps.sandbox.machinery.vendor import json_response
from apps.sandbox.models import SandboxRequest, SandboxSite


class EchoAdapter(VendorAdapter):
    """A minimal vendor: Bearer tokens, its own error shape and a rate-limit header."""

    kinds = ("jira_dc",)

    def authenticate(self, request, site):
        scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        return token_lookup(site, secret) if scheme == "Bearer" else None

    def error_response(self, request, error):
        response = json_response({"errorMessages": [error.message]}, status=error.status)
        for key, value in error.headers.items():
            response[key] = value
        return response

    def rate_limit_headers(self, decision: RateDecision):
        return {"X-Echo-Remaining": str(decision.remaining)} if decision.limited else {}


echo = EchoAdapter()


@echo.endpoint(name="echo.get", scope="read")
def echo_view(request, ctx, **kwargs):
    if request.GET.get("fail"):
        raise VendorError(400, "You asked for it.")
    return json_response({"site": ctx.site.slug, "seq": ctx.seq, "token": ctx.token.name})


@pytest.fixture
def site(db):
    return services.site_create(kind="jira_dc", slug="echo")


@pytest.fixture
def secret(site):
    _, secret = services.token_create(site=site, name="reader", scopes=["read"])
    return secret


def call(site_slug, secret=None, **query):
    request = RequestFactory().get("/sandbox/echo/", query)
    if secret:
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return echo_view(request, site=site_slug)


def test_unknown_site_is_404_in_the_vendor_shape(site, secret):
    response = call("nowhere", secret)
    assert response.status_code == 404
    assert "nowhere" in json.loads(response.content)["errorMessages"][0]


def test_auth_and_scope(site, secret):
    assert call("echo").status_code == 401
    assert call("echo", "wrong-secret").status_code == 401
    _, no_scope = services.token_create(site=site, name="writer-only", scopes=["write"])
    assert call("echo", no_scope).status_code == 403
    ok = call("echo", secret)
    assert ok.status_code == 200
    assert json.loads(ok.content)["token"] == "reader"


def test_token_is_kept_hashed_and_an_expired_or_inactive_token_fails(site, secret):
    from django.utils import timezone

    token = site.tokens.get()
    assert secret not in (token.token_hash, token.token_prefix, str(token.principal))
    token.expires_at = timezone.now()
    token.save()
    assert call("echo", secret).status_code == 401
    token.expires_at = None
    token.is_active = False
    token.save()
    assert call("echo", secret).status_code == 401


def test_vendor_error_is_rendered_by_the_vendor(site, secret):
    response = call("echo", secret, fail="1")
    assert response.status_code == 400
    assert json.loads(response.content) == {"errorMessages": ["You asked for it."]}


def test_token_budget_blocks_with_retry_after_then_serves_again(site, secret):
    services.site_controls_update(site=site, controls={"rate_limit_token": 3, "rate_window_seconds": 1})
    # Start at the beginning of a window so the three allowed requests fall in one.
    time.sleep(1 - time.time() % 1)
    statuses = [call("echo", secret).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    blocked = call("echo", secret)
    assert blocked.status_code == 429
    retry_after = int(blocked["Retry-After"])
    assert retry_after >= 1
    assert blocked["X-Echo-Remaining"] == "0"
    time.sleep(retry_after)
    assert call("echo", secret).status_code == 200


def test_site_budget_counts_every_token(site, secret):
    services.site_controls_update(site=site, controls={"rate_limit_site": 2, "rate_window_seconds": 60})
    _, other = services.token_create(site=site, name="other", scopes=["read"])
    assert call("echo", secret).status_code == 200
    assert call("echo", other).status_code == 200
    assert call("echo", other).status_code == 429
    assert call("echo", secret).status_code == 429


def test_unauthenticated_requests_do_not_spend_a_budget(site, secret):
    services.site_controls_update(site=site, controls={"rate_limit_site": 1, "rate_window_seconds": 60})
    for _ in range(3):
        assert call("echo").status_code == 401
    assert call("echo", secret).status_code == 200


def _fault_sequence(site, secret, n=30):
    out = []
    for _ in range(n):
        response = call("echo", secret)
        if response.streaming:
            out.append("drop")
        else:
            out.append(response.status_code)
    return out


def test_faults_are_deterministic_under_a_seed(site, secret):
    services.site_controls_update(
        site=site, controls={"fault_rate": 0.5, "fault_kinds": ["http_500", "http_503", "drop"], "seed": 42}
    )
    first = _fault_sequence(site, secret)
    assert {500, 503, "drop", 200} <= set(first), first
    services.site_controls_update(site=site, controls={"seed": 42})  # a new seed restarts the sequence
    assert _fault_sequence(site, secret) == first
    services.site_controls_update(site=site, controls={"seed": 43})
    assert _fault_sequence(site, secret) != first


def test_fault_rate_zero_and_one(site, secret):
    services.site_controls_update(site=site, controls={"fault_rate": 1.0, "fault_kinds": ["http_503"]})
    assert {call("echo", secret).status_code for _ in range(5)} == {503}
    services.site_controls_update(site=site, controls={"fault_rate": 0.0})
    assert {call("echo", secret).status_code for _ in range(5)} == {200}


def test_a_throttle_fault_answers_429_with_retry_after_and_runs_nothing(site, secret):
    services.site_controls_update(site=site, controls={"fault_rate": 1.0, "fault_kinds": ["http_429"]})
    response = call("echo", secret)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert SandboxRequest.objects.filter(site=site, fault="http_429", status=429).count() == 1


def test_dropped_connection_cuts_the_body_after_the_view_ran(site, secret):
    services.site_controls_update(site=site, controls={"fault_rate": 1.0, "fault_kinds": ["drop"]})
    response = call("echo", secret)
    assert response.streaming
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert 0 < len(first) < int(response["Content-Length"])
    with pytest.raises(DroppedConnection):
        next(chunks)
    assert SandboxRequest.objects.filter(site=site, fault="drop").count() == 1


def test_latency_and_slow_faults_take_time(site, secret):
    services.site_controls_update(site=site, controls={"latency_ms": 120})
    started = time.monotonic()
    assert call("echo", secret).status_code == 200
    assert time.monotonic() - started >= 0.12
    services.site_controls_update(
        site=site, controls={"latency_ms": 0, "fault_rate": 1.0, "fault_kinds": ["slow"], "slow_ms": 150}
    )
    started = time.monotonic()
    assert call("echo", secret).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_delay_before_blocking(site, secret):
    services.site_controls_update(
        site=site, controls={"rate_limit_token": 4, "delay_after_percent": 50, "delay_ms": 100}
    )
    timings = []
    for _ in range(4):
        started = time.monotonic()
        assert call("echo", secret).status_code == 200
        timings.append(time.monotonic() - started)
    assert max(timings[:2]) < 0.1
    assert min(timings[2:]) >= 0.1


def test_request_log_summary(site, secret):
    call("echo", secret)
    call("echo", secret)
    call("echo")
    call("echo", secret, fail="1")
    summary = selectors.request_log_summary(site=site)
    assert summary["totals"]["requests"] == 4
    assert summary["by_status"] == {"200": 2, "401": 1, "400": 1}
    entry = summary["by_endpoint"]["echo.get"]
    assert entry["requests"] == 4
    assert entry["response_bytes"] > 0
    assert all(r.path == "/sandbox/echo/" for r in SandboxRequest.objects.filter(site=site))


def test_controls_are_validated(site):
    from apps.core.exceptions import ApplicationError

    for bad in ({"fault_rate": 2}, {"fault_kinds": ["meteor"]}, {"latency_ms": -1}, {"nonsense": 1},
                {"delay_after_percent": 150}, {"rate_window_seconds": 0}):
        with pytest.raises(ApplicationError):
            services.site_controls_update(site=site, controls=bad)


def test_site_kind_must_be_known(db):
    from apps.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="Unknown sandbox kind"):
        services.site_create(kind="gitlab", slug="x")
    assert not SandboxSite.objects.exists()
