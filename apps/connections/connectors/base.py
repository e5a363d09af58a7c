"""The contract every connector follows (after Singer and the Airbyte CDK).

A connector is built from a `ConnectionConfig` (plain values: kind, base URL, credentials) and an SSRF
policy, talks to its vendor only through `HttpClient`, and speaks to the rest of Migrayt only in the
neutral records of `records`.

Source side
    check()            -> CheckResult. Proves the address, the credentials and the permissions, and says
                          what is wrong in plain words when something is. Never raises for a failure the
                          person can fix; raises only for bugs.
    discover(project)  -> Catalog. The schema of one project: types (with hierarchy and states), fields
                          (with types and allowed values), link types, iterations/sprints,
                          areas/components, people.
    read(stream, state, project=...)
                       -> iterator of records and StateCheckpoint. Yields the records of one stream
                          (`STREAMS`) from where `state` says the last read stopped ({} = the start), with
                          a StateCheckpoint after each page. Persisting the checkpoint together with what
                          was done with the records before it makes a read resumable after any crash.

Destination side (keyed on the source id: writing the same source record twice updates, never duplicates)
    upsert_work_item(record, *, existing_id)  -> destination id
    upsert_comment(record, *, work_item_id, existing_id) -> destination id
    upsert_link(record, *, from_id, to_id, existing_id) -> destination id
    upload_attachment(record, content, *, work_item_id, existing_id) -> destination id
The id map (source id -> destination id) lives in the engine; a destination receives the destination id
it returned last time, if any, and must update that object rather than create a new one.
Bulk writes in destination-shaped records (`records.ItemWrite` / `LinkWrite` -> `WriteResult`, ambiguous
failures flagged for reconciliation) are in the destination's writer: `jira/writer.py` (`JiraWriter`).

Failures are ConnectorError subclasses tagged config / transient / permanent (see `errors`).
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from apps.connections.connectors import records
from apps.connections.connectors.http import HttpClient
from apps.connections.connectors.ssrf import SsrfPolicy


class ConnectionKind(StrEnum):
    AZURE_DEVOPS = "azure_devops"
    JIRA_CLOUD = "jira_cloud"
    JIRA_DATA_CENTER = "jira_data_center"


@dataclass(frozen=True)
class ConnectionConfig:
    """What a connector needs to reach one system. The secret never appears in repr()."""

    kind: ConnectionKind
    base_url: str
    token: str = field(repr=False)  # ADO PAT, Jira Cloud API token, Jira Data Center PAT, or an OAuth access token
    email: str = ""  # Jira Cloud only: the account the API token belongs to
    # OAuth connections (apps/connections/oauth.py): the token is an access token sent as a Bearer token, and
    # Jira Cloud is reached through Atlassian's gateway (https://api.atlassian.com/ex/jira/<cloud id>).
    bearer: bool = False
    api_base_url: str = ""


class CheckStatus(StrEnum):
    OK = "ok"
    BAD_URL = "bad_url"
    BLOCKED_ADDRESS = "blocked_address"
    UNKNOWN_HOST = "unknown_host"
    UNREACHABLE = "unreachable"
    TLS_ERROR = "tls_error"
    TIMEOUT = "timeout"
    WRONG_CREDENTIALS = "wrong_credentials"
    MISSING_PERMISSION = "missing_permission"
    UNKNOWN_ORGANISATION = "unknown_organisation"
    UNKNOWN_SITE = "unknown_site"
    WRONG_KIND_CLOUD_VS_DC = "wrong_kind_cloud_vs_dc"
    WRONG_KIND = "wrong_kind"  # Jira given as Azure DevOps or the reverse
    NOT_A_TRACKER = "not_a_tracker"  # something answered, but neither Jira nor Azure DevOps
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    SECRET_UNREADABLE = "secret_unreadable"  # noqa: S105 - a status name. The stored token cannot be decrypted with the configured keys
    AUTHORISATION_EXPIRED = "authorisation_expired"  # OAuth: the refresh token expired; sign in again
    AUTHORISATION_REVOKED = "authorisation_revoked"  # OAuth: the person or an admin revoked the app's access
    ERROR = "error"


@dataclass
class CheckResult:
    status: CheckStatus
    message: str  # plain words, for the person who made the connection
    details: dict = field(default_factory=dict)  # who we are signed in as, server version... no secrets

    @property
    def ok(self) -> bool:
        return self.status == CheckStatus.OK


@dataclass
class Catalog:
    """The schema `discover()` returns."""

    project: records.Project
    work_item_types: list[records.WorkItemType] = field(default_factory=list)
    fields: list[records.FieldDefinition] = field(default_factory=list)
    link_types: list[records.LinkType] = field(default_factory=list)
    iterations: list[records.Iteration] = field(default_factory=list)
    areas: list[records.Area] = field(default_factory=list)
    people: list[records.Person] = field(default_factory=list)


class Connector(ABC):
    kind: ConnectionKind
    # The streams read() knows, in the order a full read should take them.
    STREAMS: tuple[str, ...] = ()
    # Reads ride out a vendor's bad minute; a connection test answers a waiting person within seconds.
    READ_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
    READ_ATTEMPTS = 5
    CHECK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
    CHECK_ATTEMPTS = 2

    def __init__(self, config: ConnectionConfig, *, policy: SsrfPolicy, http: HttpClient | None = None,
                 quick: bool = False):
        self.config = config
        self.policy = policy
        self.http = http or self.make_http_client(quick=quick)

    @abstractmethod
    def auth(self) -> httpx.Auth:
        """This vendor's authentication, from the config."""

    def make_http_client(self, *, quick: bool = False) -> HttpClient:
        return HttpClient(
            base_url=self.config.api_base_url or self.config.base_url,
            policy=self.policy,
            auth=self.auth(),
            timeout=self.CHECK_TIMEOUT if quick else self.READ_TIMEOUT,
            max_attempts=self.CHECK_ATTEMPTS if quick else self.READ_ATTEMPTS,
            max_retry_after=5.0 if quick else 120.0,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @abstractmethod
    def check(self) -> CheckResult:
        """Prove the connection works; answer in plain words what is wrong when it does not."""


class Source(Connector):
    @abstractmethod
    def projects(self) -> list[records.Project]:
        """The projects the credentials can see."""

    @abstractmethod
    def discover(self, *, project: str) -> Catalog:
        """The schema of one project."""

    @abstractmethod
    def read(self, stream: str, state: dict, *, project: str) -> Iterator[records.Record | records.StateCheckpoint]:
        """The records of one stream, from `state` on, with a checkpoint after each page."""


class Destination(Connector):
    @abstractmethod
    def discover(self, *, project: str) -> Catalog:
        """The schema mappings target."""

    @abstractmethod
    def upsert_work_item(self, record: records.WorkItem, *, project: str, existing_id: str | None) -> str:
        """Create the item, or update `existing_id`; return the destination id."""

    @abstractmethod
    def upsert_comment(self, record: records.Comment, *, work_item_id: str, existing_id: str | None) -> str: ...

    @abstractmethod
    def upsert_link(self, record: records.Link, *, from_id: str, to_id: str, existing_id: str | None) -> str: ...

    @abstractmethod
    def upload_attachment(self, record: records.Attachment, content: Iterable[bytes], *, work_item_id: str,
                          existing_id: str | None) -> str: ...
