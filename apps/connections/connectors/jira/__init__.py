"""Jira Cloud (REST v3, e-mail + API token) and Jira Data Center (REST v2, personal access token)."""

from apps.connections.connectors.jira.connector import JiraCloudConnector, JiraDataCenterConnector

__all__ = ["JiraCloudConnector", "JiraDataCenterConnector"]
