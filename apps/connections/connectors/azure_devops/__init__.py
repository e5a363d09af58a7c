"""Azure DevOps Services (dev.azure.com, *.visualstudio.com)."""

from apps.connections.connectors.azure_devops.connector import AzureDevOpsConnector

__all__ = ["AzureDevOpsConnector"]
