from django.apps import AppConfig


class SandboxAdoConfig(AppConfig):
    name = "apps.sandbox.ado"
    label = "sandbox_ado"
    verbose_name = "Sandbox: Azure DevOps"

    def ready(self):
        from apps.sandbox.ado.adapter import ado_adapter
        from apps.sandbox.machinery import register_vendor

        register_vendor(ado_adapter)
