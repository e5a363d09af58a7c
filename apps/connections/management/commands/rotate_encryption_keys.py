from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.connections.crypto import SecretUnreadable, secret_rotate
from apps.connections.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored connection secret under the newest key (the first of "
        "MIGRAYT_ENCRYPTION_KEYS). Put the new key first, run this, then remove the old key."
    )

    def handle(self, *args, **options):
        rotated, unreadable = 0, []
        # Crosses organisations on purpose: this is an operator's command over the whole database.
        for pk in Connection.unscoped.values_list("pk", flat=True).order_by("pk"):
            with transaction.atomic():
                connection = Connection.unscoped.select_for_update().get(pk=pk)
                try:
                    connection.secret_ciphertext = secret_rotate(connection.secret_ciphertext)
                except SecretUnreadable:
                    unreadable.append(pk)
                    continue
                connection.save(update_fields=["secret_ciphertext"])
                rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} connection secret(s) under the newest key.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) could not be decrypted with any configured key (connection ids "
                f"{', '.join(map(str, unreadable))}); they were left as they were. Do not remove old keys yet."
            )
