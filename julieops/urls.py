from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from julieops.apps import discover_admin
from migrations_app.web.login import LoginView, rate_limited

discover_admin()  # the apps' admin modules (julieops.apps: not at start-up)

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The admin site's log-in goes through the same limiter as the dashboard's.
    path("admin/login/", rate_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    path("", include("readers.urls")),
    path("", include("migrations_app.web.urls")),
]
