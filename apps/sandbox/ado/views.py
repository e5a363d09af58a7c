from django.shortcuts import render


def site_page(request, site):
    return render(request, "sandbox_ado/site.html", {"slug": site})
