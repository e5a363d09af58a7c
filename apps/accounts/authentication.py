from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.accounts.selectors import api_token_find_active


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer mgy_...` (or `Token mgy_...`). The request then acts for the token's user in
    the token's organisation only."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
        token = api_token_find_active(raw_token=parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed("This API token is not valid: it is unknown, revoked or expired.")
        request._request.organisation = token.organisation
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (mgy_...)."}
