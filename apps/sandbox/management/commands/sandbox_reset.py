from django.core.management.base import BaseCommand, CommandError

from apps.sandbox import services
from apps.sandbox.models import SandboxSite


class Command(BaseCommand):
    help = "Empty a sandbox site (its vendor data, counters and request log); --delete removes the site too."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--site", help="the site slug")
        target.add_argument("--all", action="store_true", help="every sandbox site")
        parser.add_argument("--delete", action="store_true", help="delete the site itself, with its tokens")
        parser.add_argument("--keep-log", action="store_true", help="keep the request log")

    def handle(self, *args, **opts):
        sites = list(SandboxSite.objects.all()) if opts["all"] else list(SandboxSite.objects.filter(slug=opts["site"]))
        if not sites and not opts["all"]:
            raise CommandError(f"No sandbox site named {opts['site']!r}.")
        for site in sites:
            try:
                services.site_reset(site=site, keep_log=opts["keep_log"])
            except LookupError:
                pass  # no vendor registered for it any more: deleting is still possible
            if opts["delete"]:
                site.delete()
                self.stdout.write(f"Deleted sandbox site {site.slug}.")
            else:
                self.stdout.write(f"Reset sandbox site {site.slug}.")
