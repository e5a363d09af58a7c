from django.apps import AppConfig


class SandboxJiraConfig(AppConfig):
    name = "apps.sandbox.jira"
    label = "sandbox_jira"
    verbose_name = "Sandbox: Jira"

    def ready(self):
        from apps.sandbox.jira.adapter import jira_adapter
        from apps.sandbox.machinery import register_vendor

        register_vendor(jira_adapter)
