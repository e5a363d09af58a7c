from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.services import organisation_create


class Command(BaseCommand):
    help = "Create the demo organisation and user (idempotent). Prints the login."

    @transaction.atomic
    def handle(self, *args, **options):
        email, password = settings.DEMO_USER_EMAIL, settings.DEMO_USER_PASSWORD
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, full_name="Demo Admin", is_staff=True, is_superuser=True)
            organisation_create(name="Demo Company", owner=user)
            self.stdout.write(f"Created the demo user {email} in the organisation 'Demo Company'.")
        else:
            self.stdout.write(f"The demo user {email} already exists.")
