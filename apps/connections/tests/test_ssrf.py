# ruff: noqa: S104 - addresses under test, nothing binds to them
import ipaddress

import pytest

from apps.connections.connectors.errors import BlockedAddressError, ConfigError
from apps.connections.connectors.http import HttpClient
from apps.connections.connectors.ssrf import (
    SsrfPolicy,
    address_refusal,
    parse_numeric_host,
    resolve_checked,
    url_check,
)
from apps.connections.tests.conftest import Reply

PUBLIC = SsrfPolicy(allow_private=False, require_https=False)
LOCAL = SsrfPolicy.permissive_local()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0",
        "169.254.169.254", "169.254.1.1", "224.0.0.1", "240.0.0.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fd00:ec2::254",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
    ],
)
def test_non_public_addresses_are_refused_in_production(address):
    assert address_refusal(address, PUBLIC) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "13.107.42.16", "2620:1ec:4::69", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address, PUBLIC) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "::1", "fd12::1"])
def test_private_addresses_are_allowed_only_by_the_explicit_setting(address):
    assert address_refusal(address, PUBLIC) is not None
    assert address_refusal(address, LOCAL) is None


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254", "169.254.0.9",
                "0.0.0.0", "ff02::1"],
)
def test_metadata_link_local_multicast_and_unspecified_are_refused_even_when_private_is_allowed(address):
    assert address_refusal(address, LOCAL) is not None


def test_an_allowed_network_opens_one_range_without_opening_the_others():
    policy = SsrfPolicy(allow_private=False, allowed_networks=("10.20.0.0/16",))
    assert address_refusal("10.20.3.4", policy) is None
    assert address_refusal("10.21.3.4", policy) is not None
    # Not even an explicit allowance opens the metadata service.
    assert address_refusal("169.254.169.254", SsrfPolicy(allowed_networks=("169.254.0.0/16",))) is not None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),  # decimal
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f.0.0.1", "127.0.0.1"),  # hex
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # short forms
        ("10.1", "10.0.0.1"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
    ],
)
def test_numeric_host_forms_are_read_as_the_resolver_reads_them(host, expected):
    parsed = parse_numeric_host(host)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize(
    "url",
    ["http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1:8080/", "http://[::1]/",
     "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]/", "http://0xa9fea9fe/latest/meta-data"],
)
def test_url_check_refuses_numeric_and_ipv6_forms_of_local_addresses(url):
    with pytest.raises(BlockedAddressError):
        url_check(url, PUBLIC)


def test_a_hostname_that_resolves_to_the_metadata_service_is_refused(fake_dns):
    fake_dns.table["jira.attacker.example"] = ["169.254.169.254"]
    with pytest.raises(BlockedAddressError, match="metadata"):
        url_check("http://jira.attacker.example/", LOCAL)
    with pytest.raises(BlockedAddressError, match="metadata"):
        resolve_checked("jira.attacker.example", 443, PUBLIC)


def test_a_hostname_with_one_public_and_one_private_address_is_refused(fake_dns):
    fake_dns.table["mixed.example"] = ["8.8.8.8", "10.0.0.1"]
    with pytest.raises(BlockedAddressError, match="10.0.0.1"):
        resolve_checked("mixed.example", 443, PUBLIC)


def test_metadata_host_names_are_refused_before_any_lookup(fake_dns):
    with pytest.raises(BlockedAddressError):
        url_check("http://metadata.google.internal/computeMetadata/v1/", LOCAL)
    assert fake_dns.calls == []


def test_an_unknown_host_is_a_config_error_in_plain_words(fake_dns):
    with pytest.raises(ConfigError, match="could not be found") as caught:
        url_check("https://no-such-site.example/", PUBLIC)
    assert caught.value.code == "unknown_host"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com:99999/", "not a valid"),
        ("https://example.com/?jql=x", "query"),
        ("", "https://"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(ConfigError, match=message) as caught:
        url_check(url, PUBLIC, resolve_host=False)
    assert caught.value.code == "bad_url"


def test_plain_http_is_refused_where_https_is_required():
    with pytest.raises(ConfigError, match="https"):
        url_check("http://example.com/", SsrfPolicy(), resolve_host=False)
    assert url_check("https://example.com/jira/", SsrfPolicy(), resolve_host=False) == "https://example.com/jira"


# --- through the HTTP client ------------------------------------------------------------------------


def test_the_client_refuses_a_local_address_before_connecting(local_server):
    local_server.routes["/x"] = [Reply(200, b"{}")]
    with HttpClient(base_url=local_server.url(), policy=PUBLIC) as client, pytest.raises(BlockedAddressError):
        client.request("GET", "x")
    assert local_server.hits("/x") == 0


def test_the_client_refuses_a_name_resolving_to_the_metadata_service(fake_dns, local_server):
    fake_dns.table["tracker.example"] = ["169.254.169.254"]
    with HttpClient(base_url="http://tracker.example", policy=LOCAL) as client, pytest.raises(BlockedAddressError):
        client.request("GET", "rest/api/3/myself")


def test_a_redirect_from_an_allowed_server_to_a_private_address_is_refused(fake_dns, local_server):
    # The test server is allowed explicitly; everything else private is not.
    policy = SsrfPolicy(allow_private=False, allowed_networks=("127.0.0.1/32",), require_https=False)
    fake_dns.table["internal.example"] = ["10.0.0.7"]
    local_server.routes["/start"] = [Reply(302, b"", {"Location": "http://internal.example/admin"})]
    with HttpClient(base_url=local_server.url(), policy=policy) as client:
        with pytest.raises(BlockedAddressError, match="10.0.0.7"):
            client.request("GET", "start")
    assert local_server.hits("/start") == 1


def test_a_redirect_to_the_metadata_service_is_refused_even_in_development(fake_dns, local_server):
    fake_dns.table["innocent.example"] = ["169.254.169.254"]
    local_server.routes["/a"] = [Reply(301, b"", {"Location": "http://innocent.example/latest/meta-data/"})]
    local_server.routes["/b"] = [Reply(302, b"", {"Location": "http://[fd00:ec2::254]/latest/"})]
    local_server.routes["/c"] = [Reply(302, b"", {"Location": "http://2852039166/latest/"})]
    with HttpClient(base_url=local_server.url(), policy=LOCAL) as client:
        for path in ("a", "b", "c"):
            with pytest.raises(BlockedAddressError):
                client.request("GET", path)


def test_a_redirect_to_plain_http_is_refused_where_https_is_required(tls_server, fake_dns):
    fake_dns.table["secure.test"] = ["127.0.0.1"]
    policy = SsrfPolicy(allow_private=False, allowed_networks=("127.0.0.1/32",), require_https=True)
    tls_server.routes["/go"] = [Reply(302, b"", {"Location": "http://secure.test/landing"})]
    with HttpClient(base_url=tls_server.url(host="secure.test", scheme="https"), policy=policy,
                    verify=tls_server.client_context) as client:
        with pytest.raises(BlockedAddressError) as caught:
            client.request("GET", "go")
    assert caught.value.code == "insecure_redirect"


def test_the_connection_goes_to_the_address_that_was_checked(fake_dns, local_server):
    """DNS rebinding: the first answer is checked and used; a later, different answer is never used for
    that connection."""
    fake_dns.table["rebind.example"] = [["127.0.0.1"], ["169.254.169.254"]]
    local_server.routes["/ok"] = [Reply(200, b'{"ok": true}')]
    with HttpClient(base_url=f"http://rebind.example:{local_server.port}", policy=LOCAL) as client:
        assert client.request("GET", "ok").json() == {"ok": True}
        # Host header keeps the name; the socket went to the checked address.
        assert local_server.seen[-1].headers["Host"] == f"rebind.example:{local_server.port}"
        assert fake_dns.calls.count("rebind.example") == 1
        # The kept-alive connection is reused without a new lookup.
        client.request("GET", "ok")
        assert fake_dns.calls.count("rebind.example") == 1


def test_tls_still_checks_the_certificate_against_the_host_name_when_pinned(tls_server, fake_dns):
    fake_dns.table["secure.test"] = ["127.0.0.1"]
    fake_dns.table["other.test"] = ["127.0.0.1"]
    tls_server.routes["/hello"] = [Reply(200, b'{"hello": 1}')]
    with HttpClient(base_url=tls_server.url(host="secure.test", scheme="https"), policy=LOCAL,
                    verify=tls_server.client_context) as client:
        assert client.request("GET", "hello").json() == {"hello": 1}
    # The same address under a name the certificate does not cover fails verification.
    with HttpClient(base_url=tls_server.url(host="other.test", scheme="https"), policy=LOCAL,
                    verify=tls_server.client_context, max_attempts=1) as client:
        with pytest.raises(ConfigError) as caught:
            client.request("GET", "hello")
    assert caught.value.code == "tls_error"


def test_proxies_from_the_environment_are_ignored(monkeypatch, local_server):
    # A proxy would connect on our behalf, past the guard.
    monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
    monkeypatch.setenv("ALL_PROXY", "http://169.254.169.254:3128")
    local_server.routes["/p"] = [Reply(200, b"{}")]
    with HttpClient(base_url=local_server.url(), policy=LOCAL) as client:
        assert client.request("GET", "p").status_code == 200


def test_ipaddress_module_assumptions_hold():
    # The guard relies on these classifications of the standard library.
    assert ipaddress.ip_address("fc00::1").is_private
    assert not ipaddress.ip_address("100.64.0.1").is_global
