"""The generic HTTP client against a local server that misbehaves on purpose. Vendor semantics are tested
against the sandbox, not here."""

import email.utils
import logging
from datetime import UTC, datetime

import httpx
import pytest

from apps.connections.connectors.errors import ConfigError, PermanentError, TransientError
from apps.connections.connectors.http import (
    BearerAuth,
    HttpClient,
    RateLimitPacer,
    basic_auth,
    endpoint_of,
    parse_retry_after,
)
from apps.connections.connectors.ssrf import SsrfPolicy
from apps.connections.tests.conftest import Reply

LOCAL = SsrfPolicy.permissive_local()


@pytest.fixture
def client_for(local_server, clock):
    clients = []

    def make(**kwargs):
        kwargs.setdefault("base_url", local_server.url("/base"))
        kwargs.setdefault("policy", LOCAL)
        kwargs.setdefault("sleep", clock.sleep)
        kwargs.setdefault("clock", clock.mono)
        kwargs.setdefault("wall_clock", clock.now)
        kwargs.setdefault("backoff_initial", 0.5)
        client = HttpClient(**kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_429_with_retry_after_in_seconds_is_waited_out_then_retried(local_server, client_for, clock):
    local_server.routes["/base/items"] = [Reply(429, b"{}", {"Retry-After": "7"}), Reply(200, b'{"n": 1}')]
    client = client_for()
    assert client.get_json("items") == {"n": 1}
    assert clock.sleeps == [7.0]
    assert local_server.hits("/base/items") == 2
    assert client.stats.retries == 1
    assert client.stats.requests["GET /items"] == 2


def test_retry_after_as_an_http_date_is_honoured(local_server, client_for, clock):
    when = email.utils.formatdate(clock.now() + 12, usegmt=True)
    local_server.routes["/base/items"] = [Reply(503, b"", {"Retry-After": when}), Reply(200, b"{}")]
    client_for().request("GET", "items")
    assert len(clock.sleeps) == 1 and 11 <= clock.sleeps[0] <= 12


def test_503_is_retried_with_growing_backoff_and_then_gives_up_as_transient(local_server, client_for, clock):
    local_server.routes["/base/busy"] = [Reply(503, b"busy")]
    client = client_for(max_attempts=4)
    with pytest.raises(TransientError) as caught:
        client.request("GET", "busy")
    assert caught.value.kind == "transient"
    assert caught.value.code == "server_error"
    assert caught.value.details["attempts"] == 4
    assert local_server.hits("/base/busy") == 4
    assert len(clock.sleeps) == 3
    # Exponential with jitter: each wait is at least the base doubling (0.5, 1, 2).
    assert clock.sleeps[0] >= 0.5 and clock.sleeps[1] >= 1 and clock.sleeps[2] >= 2


def test_a_retry_after_longer_than_allowed_is_not_slept_but_reported(local_server, client_for, clock):
    local_server.routes["/base/items"] = [Reply(429, b"", {"Retry-After": "3600"})]
    with pytest.raises(TransientError) as caught:
        client_for(max_retry_after=60).request("GET", "items")
    assert caught.value.code == "rate_limited"
    assert caught.value.details["retry_after_seconds"] == 3600
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_post_that_may_have_been_processed_is_not_retried(local_server, client_for, status):
    local_server.routes["/base/create"] = [Reply(status, b""), Reply(201, b"{}")]
    with pytest.raises(TransientError):
        client_for().request("POST", "create", json={"a": 1})
    assert local_server.hits("/base/create") == 1


def test_a_500_on_a_post_is_not_retried_but_a_429_is(local_server, client_for):
    local_server.routes["/base/create"] = [Reply(500, b"")]
    client = client_for()
    with pytest.raises(TransientError):
        client.request("POST", "create", json={"a": 1})
    assert local_server.hits("/base/create") == 1
    local_server.routes["/base/create2"] = [Reply(429, b"", {"Retry-After": "1"}), Reply(201, b"{}")]
    assert client.request("POST", "create2", json={"a": 1}).status_code == 201
    assert local_server.hits("/base/create2") == 2


def test_a_dropped_connection_is_retried_for_a_read(local_server, client_for):
    local_server.routes["/base/flaky"] = [Reply(drop=True), Reply(200, b'{"ok": true}')]
    assert client_for().get_json("flaky") == {"ok": True}
    assert local_server.hits("/base/flaky") == 2


def test_a_dropped_connection_is_not_retried_for_a_post_that_may_have_arrived(local_server, client_for):
    local_server.routes["/base/write"] = [Reply(drop=True), Reply(201, b"{}")]
    with pytest.raises(TransientError) as caught:
        client_for().request("POST", "write", json={})
    assert caught.value.code == "connection_dropped"
    assert local_server.hits("/base/write") == 1
    # ... unless the caller says the write is idempotent (keyed on the source id).
    assert client_for().request("POST", "write", json={}, idempotent=True).status_code == 201


def test_a_slow_answer_times_out_as_transient(local_server, client_for):
    local_server.routes["/base/slow"] = [Reply(200, b"{}", delay=1.5)]
    with pytest.raises(TransientError) as caught:
        client_for(timeout=httpx.Timeout(0.3), max_attempts=2).request("GET", "slow")
    assert caught.value.code == "timeout"
    assert local_server.hits("/base/slow") == 2


def test_connection_refused_is_transient_and_retried(client_for, clock):
    with pytest.raises(TransientError) as caught:
        client_for(base_url="http://127.0.0.1:1", max_attempts=3).request("GET", "x")
    assert caught.value.code == "unreachable"
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [(401, ConfigError, "wrong_credentials"), (403, ConfigError, "missing_permission"),
     (404, PermanentError, "not_found"), (400, PermanentError, "bad_request")],
)
def test_client_errors_are_tagged_and_not_retried(local_server, client_for, status, error, code):
    local_server.routes["/base/thing"] = [Reply(status, b"{}")]
    with pytest.raises(error) as caught:
        client_for().request("GET", "thing")
    assert caught.value.code == code
    assert caught.value.status_code == status
    assert local_server.hits("/base/thing") == 1


# --- pacing before the limit -------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def test_jira_cloud_headers_slow_the_next_request_when_the_budget_runs_low(local_server, client_for, clock):
    local_server.routes["/base/a"] = [
        Reply(200, b"{}", {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "4",
                           "X-RateLimit-Reset": _iso(clock.now() + 20), "X-RateLimit-NearLimit": "true"}),
    ]
    client = client_for()
    client.request("GET", "a")
    assert clock.sleeps == []  # the first request never waits
    client.request("GET", "a")
    assert clock.sleeps == [5.0]  # 20 s left / 4 requests left


def test_a_comfortable_budget_does_not_slow_anything(local_server, client_for, clock):
    local_server.routes["/base/a"] = [
        Reply(200, b"{}", {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "90",
                           "X-RateLimit-Reset": _iso(clock.now() + 20)}),
    ]
    client = client_for()
    for _ in range(3):
        client.request("GET", "a")
    assert clock.sleeps == []


def test_azure_devops_delay_and_retry_after_on_a_success_slow_the_next_request(local_server, client_for, clock):
    local_server.routes["/base/ado"] = [
        Reply(200, b"{}", {"X-RateLimit-Resource": "Core", "X-RateLimit-Delay": "1.5"}),
        Reply(200, b"{}", {"Retry-After": "3", "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset": str(int(clock.now() + 30))}),
        Reply(200, b"{}"),
    ]
    client = client_for()
    client.request("GET", "ado")
    client.request("GET", "ado")
    client.request("GET", "ado")
    assert clock.sleeps == [1.5, 3.0]
    assert client.stats.throttled_seconds == pytest.approx(4.5)


def test_jira_data_center_token_bucket_paces_at_the_fill_rate(local_server, client_for, clock):
    local_server.routes["/base/dc"] = [
        Reply(200, b"{}", {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "1",
                           "X-RateLimit-FillRate": "4", "X-RateLimit-Interval-Seconds": "2"}),
    ]
    client = client_for()
    client.request("GET", "dc")
    client.request("GET", "dc")
    assert clock.sleeps == [0.5]  # 2 s per 4 tokens


def test_pacing_is_capped():
    pacer = RateLimitPacer(max_delay=10)
    delay, reason = pacer.delay_for({"Retry-After": "500"}, wall_now=0)
    assert delay == 10 and reason == "retry-after"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), ("1.5", 1.5), ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0), ("soon", None), (None, None)],
)
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=now) == expected


# --- counting, logging, auth, streaming --------------------------------------------------------------


def test_requests_are_counted_per_method_and_endpoint(local_server, client_for):
    local_server.routes["/base/_apis/wit/workitems/12/comments"] = [Reply(200, b"{}")]
    local_server.routes["/base/_apis/wit/workitems/13/comments"] = [Reply(200, b"{}")]
    local_server.routes["/base/rest/api/3/issue/PROJ-7"] = [Reply(200, b"{}")]
    client = client_for()
    client.request("GET", "_apis/wit/workitems/12/comments")
    client.request("GET", "_apis/wit/workitems/13/comments")
    client.request("GET", "rest/api/3/issue/PROJ-7")
    client.request("GET", "rest/api/3/issue/PROJ-7", endpoint="issue.get")
    assert client.stats.as_dict()["by_endpoint"] == {
        "GET /_apis/wit/workitems/{id}/comments": 2,
        "GET /rest/api/3/issue/{id}": 1,
        "GET issue.get": 1,
    }
    assert client.stats.total == 4


def test_endpoint_of_replaces_ids():
    assert endpoint_of("/org/_apis/wit/workitems/5", "/org") == "/_apis/wit/workitems/{id}"
    assert endpoint_of("/x/0f8fad5b-d9cb-469f-a165-70867728950e/y") == "/x/{id}/y"


def test_logs_carry_method_path_status_but_no_secret_query_values_or_bodies(local_server, client_for, caplog):
    secret = "pat-SECRET-9f2c1"
    local_server.routes["/base/search"] = [Reply(200, b'{"summary": "CONFIDENTIAL-TITLE"}')]
    client = client_for(auth=basic_auth("", secret))
    with caplog.at_level(logging.DEBUG):
        client.request("GET", "search", params={"jql": "summary ~ 'CONFIDENTIAL-QUERY'"})
    assert local_server.seen[-1].headers["Authorization"].startswith("Basic ")
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "GET /base/search 200" in text
    record = next(r for r in caplog.records if r.name == "migrayt.connectors.http")
    assert record.status == 200 and record.method == "GET" and record.path == "/base/search"
    assert record.query_keys == ["jql"]
    for forbidden in (secret, "CONFIDENTIAL-QUERY", "CONFIDENTIAL-TITLE", "Authorization"):
        assert forbidden not in text


def test_bearer_auth_is_sent_and_hidden_from_repr(local_server, client_for):
    local_server.routes["/base/me"] = [Reply(200, b"{}")]
    auth = BearerAuth("dc-token-123")
    client_for(auth=auth).request("GET", "me")
    assert local_server.seen[-1].headers["Authorization"] == "Bearer dc-token-123"
    assert "dc-token-123" not in repr(auth)


def test_credentials_are_not_sent_to_another_host_on_redirect(local_server, client_for, fake_dns):
    fake_dns.table["elsewhere.test"] = ["127.0.0.1"]
    local_server.routes["/base/go"] = [Reply(302, b"", {"Location": f"http://elsewhere.test:{local_server.port}/land"})]
    local_server.routes["/land"] = [Reply(200, b"{}")]
    client_for(auth=basic_auth("", "very-secret")).request("GET", "go")
    assert "Authorization" in local_server.seen[0].headers
    assert "Authorization" not in local_server.seen[1].headers


def test_attachments_stream_in_chunks(local_server, client_for):
    payload = bytes(range(256)) * 4096  # 1 MiB
    local_server.routes["/base/file"] = [Reply(200, payload, {"Content-Type": "application/octet-stream"})]
    with client_for().stream("GET", "file") as response:
        chunks = list(response.iter_bytes(chunk_size=65536))
    assert len(chunks) > 1
    assert b"".join(chunks) == payload


def test_a_body_that_breaks_off_half_way_is_a_transient_error_not_a_crash(local_server, client_for):
    # A Jira -> ADO run under faults stopped on an internal error: httpx's own error escaped from iter_bytes.
    payload = bytes(range(256)) * 1024
    local_server.routes["/base/file"] = [Reply(200, payload, {"Content-Type": "application/octet-stream"},
                                               cut_after=70_000)]
    received = []
    with pytest.raises(TransientError) as caught:
        with client_for().stream("GET", "file") as response:
            for chunk in response.iter_bytes(chunk_size=65536):
                received.append(chunk)
    assert caught.value.code == "connection_dropped" and "closed the connection" in caught.value.message
    assert 0 < sum(map(len, received)) < len(payload)


def test_a_full_url_from_the_vendor_goes_through_the_same_guard(local_server, client_for):
    local_server.routes["/elsewhere"] = [Reply(200, b"{}")]
    client = client_for(policy=SsrfPolicy(allow_private=False, require_https=False))
    from apps.connections.connectors.errors import BlockedAddressError

    with pytest.raises(BlockedAddressError):
        client.request("GET", local_server.url("/elsewhere"))
    assert local_server.hits("/elsewhere") == 0


def test_a_body_that_is_not_json_is_a_clear_error(local_server, client_for):
    local_server.routes["/base/html"] = [Reply(200, b"<html>sign in</html>", {"Content-Type": "text/html"})]
    with pytest.raises(PermanentError, match="not JSON"):
        client_for().get_json("html")
