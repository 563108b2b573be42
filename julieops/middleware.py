from django.middleware.locale import LocaleMiddleware


class FrenchFirstLocaleMiddleware(LocaleMiddleware):
    """The interface speaks French unless the user picked another language (language cookie):
    the browser's Accept-Language is not consulted, since the team's machines vary."""

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (no inline script, no third-party origin) and
    a Permissions-Policy that turns off what the dashboard never uses."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=()"
        )
        return response
