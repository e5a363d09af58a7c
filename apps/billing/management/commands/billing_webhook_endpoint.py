from django.core.management.base import BaseCommand

from apps.billing.services import WEBHOOK_EVENTS, billing_webhook_endpoint_ensure


class Command(BaseCommand):
    help = ("Make (once) the local webhook endpoint and print the address to give Stripe, with the events to "
            "enable. Its signing secret goes in STRIPE_WEBHOOK_SECRET, never in the database.")

    def handle(self, *args, **options):
        endpoint = billing_webhook_endpoint_ensure()
        self.stdout.write(f"Webhook address: {endpoint.url}")
        self.stdout.write("Events: " + ", ".join(WEBHOOK_EVENTS))
