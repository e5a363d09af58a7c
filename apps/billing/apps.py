from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self):
        from apps.billing import webhooks  # noqa: F401  (connects the handlers to dj-stripe's event signals)
