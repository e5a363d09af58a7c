import base64
import json

import pytest
from django.test import Client

from apps.sandbox import services

API = "api-version=7.1"


class AdoClient:
    """Talks to the local Azure DevOps as a client of dev.azure.com would: Basic auth with a PAT."""

    def __init__(self, site, secret):
        self.site = site
        self.client = Client()
        self.auth = "Basic " + base64.b64encode(f"migrayt:{secret}".encode()).decode()

    def url(self, path: str, version: str = "7.1") -> str:
        sep = "&" if "?" in path else "?"
        return f"/sandbox/ado/{self.site.slug}/{path.lstrip('/')}" + (f"{sep}api-version={version}" if version else "")

    def get(self, path, version="7.1", **extra):
        return self.client.get(self.url(path, version), HTTP_AUTHORIZATION=self.auth, **extra)

    def post(self, path, body, version="7.1", content_type="application/json", **extra):
        data = body if isinstance(body, bytes) else json.dumps(body)
        return self.client.post(self.url(path, version), data, content_type=content_type, HTTP_AUTHORIZATION=self.auth, **extra)

    def patch(self, path, body, version="7.1", content_type="application/json-patch+json", **extra):
        return self.client.patch(self.url(path, version), json.dumps(body), content_type=content_type,
                                 HTTP_AUTHORIZATION=self.auth, **extra)

    def put(self, path, body: bytes, version="7.1", **extra):
        return self.client.put(self.url(path, version), body, content_type="application/octet-stream",
                               HTTP_AUTHORIZATION=self.auth, **extra)

    def delete(self, path, version="7.1"):
        return self.client.delete(self.url(path, version), HTTP_AUTHORIZATION=self.auth)

    def create(self, type_name, title, *ops, project="Fabrikam Fiber", query=""):
        body = [{"op": "add", "path": "/fields/System.Title", "value": title}, *ops]
        return self.post(f"{project}/_apis/wit/workitems/${type_name}{query}", body, content_type="application/json-patch+json")


@pytest.fixture
def ado_site(db):
    site = services.site_create(kind="ado", slug="fabrikam")
    services.site_seed(site=site, items=60, seed=7)
    return site


@pytest.fixture
def ado(ado_site):
    _, secret = services.token_create(site=ado_site, name="migrator", scopes=["vso.work_full", "vso.project", "vso.identity"],
                                      principal={"unique_name": "jamal.hartnett@fabrikam.example"})
    return AdoClient(ado_site, secret)
