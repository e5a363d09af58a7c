"""The one HTTP client every connector uses.

What it does for every request:
* SSRF guard: each connection (each redirect hop to a new host too) goes to an address checked after DNS
  resolution, and the socket is opened to that very address (see `ssrf`); plain-HTTP hops are refused
  where the policy requires HTTPS.
* Pooling and timeouts: one httpx.Client per connector, keep-alive connections, separate connect/read
  timeouts.
* Retries with backoff (tenacity) on 429 and 503 (and 500/502/504 for idempotent requests) and connection
  failures; `Retry-After` is honoured in seconds and as an HTTP date. A request that may have reached the
  server (a dropped connection, a 500, a gateway timeout) is retried only when it is idempotent.
* Pacing: the rate-limit headers each vendor sends slow the client down BEFORE it is throttled
  (Azure DevOps: X-RateLimit-Remaining/-Reset/-Delay and Retry-After on a 200; Jira Cloud:
  X-RateLimit-Remaining/-Reset/-NearLimit; Jira Data Center: X-RateLimit-Remaining/-FillRate/
  -Interval-Seconds).
* A request counter per method and endpoint, for the benchmarks' requests-per-item figures.
* Structured logs: method, URL path (query values may hold content and are never logged, only the
  parameter names), status, duration, attempt. Never headers, never bodies.
"""

import email.utils
import logging
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpcore
import httpx
import tenacity

from apps.connections.connectors import ssrf
from apps.connections.connectors.errors import (
    BlockedAddressError,
    ConfigError,
    ConnectorError,
    PermanentError,
    TransientError,
)

logger = logging.getLogger("migrayt.connectors.http")
# httpx logs every request's full URL at INFO, query string included (a JQL or WIQL filter may hold ticket
# content), and httpcore traces response headers at DEBUG. Our own log line above replaces both.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

USER_AGENT = "Migrayt/1.0 (+https://migrayt.example/connectors)"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# 429 and 503 say the request was not processed: safe to repeat for any method. A 500, 502 or 504 may come
# after the origin did the work (a gateway gave up waiting), so only an idempotent request is repeated.
RETRY_STATUSES_ALWAYS = frozenset({429, 503})
RETRY_STATUSES_IDEMPOTENT = frozenset({500, 502, 504})


# --- authentication ---------------------------------------------------------------------------------


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` (Jira Data Center personal access tokens)."""

    def __init__(self, token: str):
        self._token = token

    def __repr__(self):
        return "BearerAuth(token=<hidden>)"

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def basic_auth(username: str, password: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(username, password)


# --- the guarded transport ---------------------------------------------------------------------------


class GuardedNetworkBackend(httpcore.SyncBackend):
    """Resolves the host once, refuses it under the SSRF policy, then connects to the checked address.
    httpcore still starts TLS with the URL's host name, so certificates and SNI are checked as usual."""

    def __init__(self, policy: ssrf.SsrfPolicy):
        self.policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = ssrf.resolve_checked(host, port, self.policy)
        last_error = None
        for address in addresses:
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: ssrf.SsrfPolicy, **kwargs):
        # No proxies from the environment: a proxy would connect on our behalf, past the guard.
        super().__init__(trust_env=False, **kwargs)
        # httpcore takes a network backend, httpx does not expose it: set it on the pool it built.
        self._pool._network_backend = GuardedNetworkBackend(policy)


# --- pacing from rate-limit headers ------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _parse_reset(value: str | None, now: float) -> float | None:
    """Seconds until a rate-limit window resets: epoch seconds (Azure DevOps) or ISO 8601 (Jira Cloud)."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    # A large number is an epoch time; a small one is already a number of seconds.
    return max(0.0, number - now) if number > 1e9 else max(0.0, number)


def _header_float(headers, name: str) -> float | None:
    try:
        return float(headers.get(name))
    except (TypeError, ValueError):
        return None


@dataclass
class RateLimitPacer:
    """Spreads the requests left in a rate-limit window over the time left in it, once the budget runs
    low, so that the vendor never has to answer 429."""

    low_fraction: float = 0.2  # start pacing when less than this share of the budget is left
    low_default: int = 20  # ... or fewer requests than this, when the vendor does not say its limit
    max_delay: float = 30.0
    reset_margin: float = 0.25
    next_allowed_at: float = 0.0  # on the monotonic clock
    last_reason: str = ""

    def delay_for(self, headers, *, wall_now: float) -> tuple[float, str]:
        """How long to wait before the next request, and why, from one response's headers."""
        retry_after = parse_retry_after(headers.get("Retry-After"), now=wall_now)
        if retry_after:
            return min(retry_after, self.max_delay), "retry-after"
        delay, reason = 0.0, ""
        ado_delay = _header_float(headers, "X-RateLimit-Delay")
        if ado_delay:
            delay, reason = ado_delay, "x-ratelimit-delay"
        remaining = _header_float(headers, "X-RateLimit-Remaining")
        limit = _header_float(headers, "X-RateLimit-Limit")
        near_limit = (headers.get("X-RateLimit-NearLimit") or "").strip().lower() == "true"
        fill_rate = _header_float(headers, "X-RateLimit-FillRate")
        interval = _header_float(headers, "X-RateLimit-Interval-Seconds")
        if remaining is not None:
            low_mark = limit * self.low_fraction if limit else self.low_default
            if fill_rate and interval and fill_rate > 0 and interval > 0:
                # Jira Data Center's token bucket: once low, go no faster than it refills.
                if remaining <= max(low_mark, fill_rate):
                    paced = interval / fill_rate
                    if paced > delay:
                        delay, reason = paced, "token-bucket"
            elif near_limit or remaining <= low_mark:
                reset_in = _parse_reset(headers.get("X-RateLimit-Reset"), wall_now)
                if reset_in:
                    # Spread what is left over the time left; with nothing left, wait for the new window
                    # (and a little more: the vendor's clock and ours are not the same clock).
                    paced = reset_in / remaining if remaining >= 1 else reset_in + self.reset_margin
                    if paced > delay:
                        delay, reason = paced, "budget-low"
        elif near_limit:
            delay, reason = max(delay, 1.0), "near-limit"
        return min(delay, self.max_delay), reason

    def observe(self, headers, *, now: float, wall_now: float) -> None:
        delay, reason = self.delay_for(headers, wall_now=wall_now)
        if delay > 0 and now + delay > self.next_allowed_at:
            self.next_allowed_at = now + min(delay, self.max_delay)
            self.last_reason = reason

    def wait_needed(self, *, now: float) -> float:
        return max(0.0, self.next_allowed_at - now)


# --- counting ----------------------------------------------------------------------------------------

_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Z][A-Z0-9_]+-\d+)$"
)


def endpoint_of(path: str, base_path: str = "") -> str:
    """A path with ids replaced by {id}, relative to the connector's base path: the key requests are
    counted under (`/_apis/wit/workitems/{id}/comments`)."""
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :] or "/"
    segments = path.split("/")
    # A number right after "api" is Jira's API version (rest/api/3), not an id.
    return "/".join(
        "{id}" if _ID_SEGMENT.match(seg) and (i == 0 or segments[i - 1] != "api") else seg
        for i, seg in enumerate(segments)
    )


@dataclass
class RequestStats:
    requests: Counter = field(default_factory=Counter)  # every attempt, by "METHOD endpoint"
    retries: int = 0
    throttled_seconds: float = 0.0  # time spent waiting because of rate limits and Retry-After
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "retries": self.retries,
            "throttled_seconds": round(self.throttled_seconds, 3),
            "by_endpoint": dict(sorted(self.requests.items())),
        }


# --- the client --------------------------------------------------------------------------------------


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response, retry_after: float | None):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


class _RetryableTransport(Exception):
    def __init__(self, error: ConnectorError):
        super().__init__(error.message)
        self.error = error


def _is_tls_failure(exc: BaseException) -> bool:
    seen = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return "SSL" in text or "CERTIFICATE" in text.upper() or "TLS" in text


def _transport_error(exc: httpx.HTTPError, host: str) -> ConnectorError:
    """A plain-words, tagged error for an httpx failure that never got a response."""
    if isinstance(exc, httpx.TimeoutException):
        phase = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for an answer from"
        return TransientError(f"Timed out {phase} {host}.", code="timeout")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConfigError("The address (or a redirect from it) does not use http:// or https://.", code="bad_url")
    if isinstance(exc, httpx.TooManyRedirects):
        return PermanentError(f"{host} redirected too many times.", code="too_many_redirects")
    if isinstance(exc, httpx.ConnectError):
        if _is_tls_failure(exc):
            return ConfigError(
                f"The secure (TLS) connection to {host} failed: its certificate is not valid for this "
                "address, has expired, or is not signed by a trusted authority.",
                code="tls_error",
            )
        return TransientError(f"Nothing answered at {host}: the connection was refused.", code="unreachable")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return TransientError(f"{host} closed the connection before answering.", code="connection_dropped")
    return TransientError(f"The request to {host} failed ({type(exc).__name__}).", code="network_error")


def status_error(response: httpx.Response) -> ConnectorError:
    """A tagged error for a response the caller did not expect. Vendors' checks turn these into their
    own plain words; this is the generic fallback."""
    status = response.status_code
    host = response.request.url.host
    if status == 401:
        return ConfigError(f"{host} refused the credentials.", code="wrong_credentials", status_code=status)
    if status == 403:
        return ConfigError(
            f"{host} accepted the credentials but refused access: a permission is missing.",
            code="missing_permission",
            status_code=status,
        )
    if status == 404:
        return PermanentError(f"{host} has nothing at {response.request.url.path}.", code="not_found",
                              status_code=status)
    if status == 429:
        return TransientError(f"{host} is rate limiting us; try again later.", code="rate_limited",
                              status_code=status)
    if status >= 500:
        return TransientError(f"{host} had a server error (HTTP {status}).", code="server_error",
                              status_code=status)
    return PermanentError(f"{host} refused the request (HTTP {status}).", code="bad_request", status_code=status)


class HttpClient:
    """A pooled, guarded, retrying, pacing, counting HTTP client for one connector.

    `request()` returns the response for any status in `accept` (2xx by default) and raises a tagged
    ConnectorError for anything else, after the retries the request allows."""

    def __init__(
        self,
        *,
        base_url: str,
        policy: ssrf.SsrfPolicy,
        auth: httpx.Auth | None = None,
        headers: dict | None = None,
        timeout: httpx.Timeout | float = httpx.Timeout(30.0, connect=10.0),  # noqa: B008
        max_attempts: int = 5,
        max_retry_after: float = 120.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        follow_redirects: bool = True,
        pacer: RateLimitPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ):
        self.base_url = base_url.rstrip("/")
        self.base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.policy = policy
        self.max_attempts = max(1, max_attempts)
        self.max_retry_after = max_retry_after
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.pacer = pacer or RateLimitPacer()
        self.stats = RequestStats()
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            auth=auth,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_redirects=5,
            transport=transport or GuardedTransport(policy, verify=verify,
                                                    limits=httpx.Limits(max_connections=20,
                                                                        max_keepalive_connections=10)),
            event_hooks={"request": [self._on_request_hop]},
            trust_env=False,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"HttpClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def _on_request_hop(self, request: httpx.Request) -> None:
        # Runs for the first request and for every redirect hop.
        if request.url.scheme not in ("http", "https"):
            raise ConfigError("Only http:// and https:// addresses can be used.", code="bad_url")
        if request.url.scheme == "http" and self.policy.require_https:
            raise BlockedAddressError(
                f"{request.url.host} asked for a plain-HTTP (unencrypted) request; only https:// is allowed.",
                code="insecure_redirect",
            )

    def url_for(self, path: str) -> httpx.URL:
        if path.startswith(("http://", "https://")):
            return httpx.URL(path)
        return httpx.URL(self.base_url + "/" + path.lstrip("/"))

    def _pace(self) -> None:
        wait = self.pacer.wait_needed(now=self._clock())
        if wait > 0:
            logger.info("http pacing %.2fs (%s)", wait, self.pacer.last_reason,
                        extra={"pace_seconds": round(wait, 3), "pace_reason": self.pacer.last_reason})
            self.stats.throttled_seconds += wait
            self._sleep(wait)

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception()
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            self.stats.throttled_seconds += retry_after
            return retry_after
        backoff = tenacity.wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max,
                                                  jitter=self.backoff_initial)
        return backoff(retry_state)

    def _send_once(self, method: str, url: httpx.URL, *, endpoint: str, attempt: int, stream: bool,
                   retry_statuses: frozenset, retry_transport_errors: bool, **kwargs) -> httpx.Response:
        self._pace()
        self.stats.count(f"{method} {endpoint}")
        started = self._clock()
        follow_redirects = kwargs.pop("follow_redirects", self._client.follow_redirects)
        request = self._client.build_request(method, url, **kwargs)
        log = {"method": method, "path": request.url.path, "query_keys": sorted(set(request.url.params.keys())),
               "endpoint": endpoint, "attempt": attempt}
        try:
            response = self._client.send(request, stream=stream, follow_redirects=follow_redirects)
        except ConnectorError:
            raise  # the SSRF guard or the scheme check: never retried
        except httpx.HTTPError as exc:
            error = _transport_error(exc, url.host)
            duration = round((self._clock() - started) * 1000)
            logger.warning("http %s %s failed: %s after %dms", method, url.path, error.code, duration,
                           extra={**log, "error": error.code, "duration_ms": duration})
            safe_to_retry = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
            if error.kind == "transient" and (safe_to_retry or retry_transport_errors):
                raise _RetryableTransport(error) from exc
            raise error from exc
        duration = round((self._clock() - started) * 1000)
        logger.info("http %s %s %s %dms", method, url.path, response.status_code, duration,
                    extra={**log, "status": response.status_code, "duration_ms": duration})
        if response.status_code in retry_statuses:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
            if retry_after is not None and retry_after > self.max_retry_after:
                response.close()
                raise TransientError(
                    f"{url.host} asked us to wait {retry_after:.0f} seconds before trying again.",
                    code="rate_limited" if response.status_code == 429 else "server_busy",
                    status_code=response.status_code,
                    details={"retry_after_seconds": round(retry_after)},
                )
            response.read()
            response.close()
            raise _RetryableStatus(response, retry_after)
        self.pacer.observe(response.headers, now=self._clock(), wall_now=self._wall_clock())
        return response

    def _send(self, method: str, path: str, *, endpoint: str | None, idempotent: bool | None, stream: bool,
              **kwargs) -> httpx.Response:
        method = method.upper()
        url = self.url_for(path)
        endpoint = endpoint or endpoint_of(url.path, self.base_path)
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        retry_statuses = RETRY_STATUSES_ALWAYS | (RETRY_STATUSES_IDEMPOTENT if idempotent else frozenset())
        attempt = 0
        body = kwargs.get("content")
        one_shot = isinstance(body, Iterator)  # a generator's chunks go once; a re-iterable body starts again

        def once():
            nonlocal attempt
            attempt += 1
            if attempt > 1:
                if one_shot:  # its chunks are spent: the caller must open the file again and resend
                    raise TransientError(f"The upload to {url.host} was interrupted and must be sent again.",
                                         code="upload_interrupted")
                self.stats.retries += 1
            return self._send_once(method, url, endpoint=endpoint, attempt=attempt, stream=stream,
                                   retry_statuses=retry_statuses, retry_transport_errors=idempotent, **kwargs)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type((_RetryableStatus, _RetryableTransport)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(once)
        except _RetryableTransport as exc:
            exc.error.details["attempts"] = attempt
            raise exc.error from None
        except _RetryableStatus as exc:
            error = status_error(exc.response)
            error.details["attempts"] = attempt
            raise error from None

    def request(self, method: str, path: str, *, accept: tuple[int, ...] | None = None, endpoint: str | None = None,
                idempotent: bool | None = None, **kwargs) -> httpx.Response:
        """Send one request (with its retries). `path` is relative to the base URL, or a full URL the
        vendor handed us (next-page links, attachment URLs), which goes through the same guard."""
        response = self._send(method, path, endpoint=endpoint, idempotent=idempotent, stream=False, **kwargs)
        if (accept is None and response.is_success) or (accept is not None and response.status_code in accept):
            return response
        raise status_error(response)

    def get_json(self, path: str, **kwargs):
        response = self.request("GET", path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                f"{response.request.url.host} answered with something that is not JSON.", code="not_json"
            ) from None

    @contextmanager
    def stream(self, method: str, path: str, *, endpoint: str | None = None, **kwargs) -> Iterator[httpx.Response]:
        """A response whose body is read in chunks (`response.iter_bytes()`), for attachments. Retries
        happen before the body starts; a body that breaks off half-way (a timeout, a dropped connection)
        raises to the caller as a TransientError, like any failure of the network, so the step is tried again."""
        response = self._send(method, path, endpoint=endpoint, idempotent=None, stream=True, **kwargs)
        try:
            if not response.is_success:
                response.read()
                raise status_error(response)
            try:
                yield response
            except httpx.HTTPError as exc:
                error = _transport_error(exc, response.request.url.host)
                logger.warning("http %s %s broke off while reading the body: %s", method, response.request.url.path,
                               error.code, extra={"method": method, "path": response.request.url.path,
                                                  "endpoint": endpoint, "error": error.code})
                raise error from exc
        finally:
            response.close()
