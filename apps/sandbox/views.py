from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import redirect, render

from apps.sandbox import selectors, services
from apps.sandbox.forms import SiteControlsForm
from apps.sandbox.machinery.vendor import adapter_for_kind


def _page_url(site):
    try:
        return adapter_for_kind(site.kind).page_url(site)
    except LookupError:
        return None


def index(request):
    sites = [{"site": site, "page_url": _page_url(site)} for site in selectors.site_list()]
    return render(request, "sandbox/index.html", {"sites": sites})


@staff_member_required
def site_controls(request, slug):
    site = selectors.site_get(slug=slug)
    if site is None:
        raise Http404("No such sandbox site.")
    form = SiteControlsForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        services.site_controls_update(site=site, controls={k: form.cleaned_data[k] for k in form.changed_data})
        messages.success(request, f"Controls of {site.slug} saved.")
        return redirect("sandbox:site_controls", slug=site.slug)
    return render(request, "sandbox/site_controls.html", {
        "site": site,
        "form": form,
        "page_url": _page_url(site),
        "summary": selectors.request_log_summary(site=site),
        "recent": selectors.request_log_recent(site=site, limit=30),
        "tokens": site.tokens.all(),
    })
