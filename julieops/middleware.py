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


class RefuseNulMiddleware:
    """A query string or form carrying a NUL character is refused with a 400 before any view
    sees it: no field can store it (PostgreSQL refuses it in text), none needs it. Lone
    surrogates cannot arrive this way (Django decodes with replacement characters); the
    readers API checks its JSON itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponseBadRequest
        from django.utils.translation import gettext as _

        sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
        for data in sources:
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return HttpResponseBadRequest(
                        _("The request contains a NUL character: it is refused."),
                        content_type="text/plain; charset=utf-8",
                    )
        return self.get_response(request)
