from apps.connections.connectors.azure_devops import AzureDevOpsConnector
from apps.connections.connectors.base import ConnectionConfig, ConnectionKind, Connector
from apps.connections.connectors.jira import JiraCloudConnector, JiraDataCenterConnector
from apps.connections.connectors.ssrf import SsrfPolicy

CONNECTORS: dict[ConnectionKind, type[Connector]] = {
    ConnectionKind.AZURE_DEVOPS: AzureDevOpsConnector,
    ConnectionKind.JIRA_CLOUD: JiraCloudConnector,
    ConnectionKind.JIRA_DATA_CENTER: JiraDataCenterConnector,
}


def connector_for(config: ConnectionConfig, *, policy: SsrfPolicy, quick: bool = False) -> Connector:
    """The connector for a connection's kind. `quick` for a connection test: short timeouts, one retry.
    Close it (or use it as a context manager) when done."""
    return CONNECTORS[ConnectionKind(config.kind)](config, policy=policy, quick=quick)
