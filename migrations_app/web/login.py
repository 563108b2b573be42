"""Log-in with a rate limit on failures, and log-ins audited (category security).

One limiter for the dashboard's log-in and the admin site's (`rate_limited`). It counts
failures per username, normalised as Django authenticates it (NFKC, then case-folded so
`Victim` and `ｖｉｃｔｉｍ` share a counter), and per client address; behind
`JULIEOPS_TRUSTED_PROXIES` reverse proxies the address is read from X-Forwarded-For (never
otherwise: a client could send any value). The counters live in the shared cache
(`CACHES["default"]`: Redis in production, the database cache on the embedded default) so
every web process sees the same figure.
"""

import hashlib
from functools import wraps

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from migrations_app import audit
from migrations_app.choices import AuditCategory


def client_ip(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or with N trusted proxies in front the N-th
    address from the right of X-Forwarded-For (the one the outermost trusted proxy saw)."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.JULIEOPS_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chain = [a for a in chain if a]
    if not chain:
        return remote
    return chain[-proxies] if len(chain) >= proxies else chain[0]


def normalise_username(username: str) -> str:
    """The username as authentication sees it (NFKC), case-folded for counting."""
    return get_user_model().normalize_username(str(username)).strip().casefold()


def _keys(request: HttpRequest, username: str) -> list[str]:
    name = hashlib.sha256(normalise_username(username).encode("utf-8", "replace")).hexdigest()
    return [f"login-fail:user:{name[:32]}", f"login-fail:ip:{client_ip(request)}"]


def _blocked(request: HttpRequest, username: str) -> bool:
    limit = settings.JULIEOPS_LOGIN_MAX_FAILURES
    return any((cache.get(key) or 0) >= limit for key in _keys(request, username))


def _blocked_page(request: HttpRequest, form):
    minutes = settings.JULIEOPS_LOGIN_WINDOW_SECONDS // 60
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "blocked": _("Too many failed attempts: try again in %(m)s minutes.") % {"m": minutes},
        },
        status=429,
    )


def rate_limited(view):
    """Wrap a log-in view: a POST for a blocked username or address gets 429, unanswered."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and _blocked(request, request.POST.get("username", "")):
            from django.contrib.auth.forms import AuthenticationForm

            return _blocked_page(request, AuthenticationForm(request))
        return view(request, *args, **kwargs)

    return wrapped


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if _blocked(request, request.POST.get("username", "")):
            return _blocked_page(request, self.get_form())
        return super().post(request, *args, **kwargs)


def _username_exists(username: str) -> bool:
    model = get_user_model()
    name = model.normalize_username(str(username))
    if "\x00" in name or len(name) > 150:  # no such account (and PostgreSQL refuses NUL)
        return False
    return model._default_manager.filter(**{model.USERNAME_FIELD + "__iexact": name}).exists()


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    username = credentials.get("username", "") or ""
    for key in _keys(request, username):
        cache.add(key, 0, settings.JULIEOPS_LOGIN_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, settings.JULIEOPS_LOGIN_WINDOW_SECONDS)
    # Never the typed text (it may be a password typed in the wrong field): only whether
    # such an account exists.
    audit.record(
        "login.failed",
        category=AuditCategory.SECURITY,
        actor_name="anonyme",
        data={"ip": client_ip(request), "username_exists": _username_exists(username)},
    )


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    if request is not None:
        cache.delete(_keys(request, user.get_username())[0])
    audit.record(
        "login", category=AuditCategory.SECURITY, actor=user, data={"ip": client_ip(request)}
    )
