from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.connections.secret_store import SecretUnreadable, secret_reference_fields, secret_rotate_reference


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret stored in the database (connection tokens, OAuth tokens, SSO client secrets, "
        "webhook signing secrets) under the newest key (the first of MIGRAYT_ENCRYPTION_KEYS). Put the new key "
        "first, run this, then remove the old key. Secrets kept in AWS Secrets Manager are left to KMS."
    )

    def handle(self, *args, **options):
        rotated, unreadable = 0, []
        for model, field in secret_reference_fields():
            # Crosses organisations on purpose: this is an operator's command over the whole database.
            manager = model._base_manager
            for pk in manager.exclude(**{field: ""}).values_list("pk", flat=True).order_by("pk"):
                with transaction.atomic():
                    row = manager.select_for_update().get(pk=pk)
                    reference = getattr(row, field)
                    try:
                        new_reference = secret_rotate_reference(reference)
                    except SecretUnreadable:
                        unreadable.append(f"{model._meta.label_lower} {pk}")
                        continue
                    if new_reference != reference:
                        setattr(row, field, new_reference)
                        row.save(update_fields=[field])
                        rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} secret(s) under the newest key.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) could not be decrypted with any configured key ({', '.join(unreadable)}); "
                "they were left as they were. Do not remove old keys yet."
            )
