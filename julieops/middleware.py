from django.middleware.locale import LocaleMiddleware


class FrenchFirstLocaleMiddleware(LocaleMiddleware):
    """The interface speaks French unless the user picked another language (language cookie):
    the browser's Accept-Language is not consulted, since the team's machines vary."""

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)
