from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import ApplicationError
from apps.sandbox import services
from apps.sandbox.machinery.vendor import adapter_for_kind
from apps.sandbox.models import SandboxSite


class Command(BaseCommand):
    help = ("Seed a sandbox site with a generated project of N items, or import a vendor export. "
            "Creates the site if needed. Dispatches to the vendor registered for --kind.")

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=SandboxSite.Kind.values)
        parser.add_argument("--site", required=True, help="the site slug (ADO organisation, Jira site)")
        parser.add_argument("--items", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1, help="the generator seed (same seed, same data)")
        parser.add_argument("--project", default=None, help="project name (vendor default otherwise)")
        parser.add_argument("--import-path", default=None, help="load a vendor export from this folder instead")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the site was seeded already")
        parser.add_argument("--token", default=None,
                            help="also create a full-scope token with this secret, if none has it yet (demo)")

    def handle(self, *args, **opts):
        try:
            adapter_for_kind(opts["kind"])
            site = services.site_get_or_create(kind=opts["kind"], slug=opts["site"])
            if opts["token"]:
                self._ensure_token(site, opts["token"])
            if opts["if_empty"] and site.seeded_at:
                self.stdout.write(f"Sandbox site {site.slug} is seeded already ({site.seed_summary}).")
                return
            if opts["import_path"]:
                path = Path(opts["import_path"])
                if not path.exists():
                    raise CommandError(f"{path} does not exist.")
                summary = services.site_import(site=site, path=path)
            else:
                extra = {"project": opts["project"]} if opts["project"] else {}
                summary = services.site_seed(site=site, items=opts["items"], seed=opts["seed"], **extra)
        except (ApplicationError, LookupError, NotImplementedError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Seeded sandbox site {site.slug}: {summary}")

    def _ensure_token(self, site, secret):
        from apps.sandbox.models import SandboxToken, token_hash

        if SandboxToken.objects.filter(site=site, token_hash=token_hash(secret)).exists():
            return
        adapter = adapter_for_kind(site.kind)
        scopes = getattr(adapter, "full_scopes", ())
        principal = getattr(adapter, "default_principal", lambda site: {})(site)
        services.token_create(site=site, name="demo token", scopes=list(scopes), principal=principal, secret=secret)
        self.stdout.write(f"Created a token for {site.slug} (prefix {secret[:6]}…).")
