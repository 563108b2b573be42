"""Log-in with a rate limit on failures, and log-ins audited (category security)."""

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from migrations_app import audit
from migrations_app.choices import AuditCategory


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _keys(request: HttpRequest, username: str) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:user:{name}", f"login-fail:ip:{_client_ip(request)}"]


def _blocked(request: HttpRequest, username: str) -> bool:
    limit = settings.JULIEOPS_LOGIN_MAX_FAILURES
    return any((cache.get(key) or 0) >= limit for key in _keys(request, username))


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if _blocked(request, request.POST.get("username", "")):
            minutes = settings.JULIEOPS_LOGIN_WINDOW_SECONDS // 60
            return render(
                request,
                self.template_name,
                {
                    "form": self.get_form(),
                    "blocked": _("Too many failed attempts: try again in %(m)s minutes.")
                    % {"m": minutes},
                },
                status=429,
            )
        return super().post(request, *args, **kwargs)


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    username = credentials.get("username", "")
    for key in _keys(request, username):
        cache.add(key, 0, settings.JULIEOPS_LOGIN_WINDOW_SECONDS)
        cache.incr(key)
    audit.record(
        "login.failed",
        category=AuditCategory.SECURITY,
        actor_name=username[:150] or "?",
        data={"ip": _client_ip(request)},
    )


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    if request is not None:
        cache.delete(_keys(request, user.get_username())[0])
    audit.record(
        "login", category=AuditCategory.SECURITY, actor=user, data={"ip": _client_ip(request)}
    )
