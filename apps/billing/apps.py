from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self):
        from apps.billing import receivers, webhooks  # noqa: F401  (handlers of dj-stripe's events and of runs)
