from django.apps import AppConfig


class SandboxOAuthConfig(AppConfig):
    name = "apps.sandbox.oauth"
    label = "sandbox_oauth"
    verbose_name = "Sandbox: authorization servers (Atlassian 3LO, Microsoft Entra ID, OpenID Connect)"
