from django.urls import path

from readers import views

urlpatterns = [
    path("api/readers/report/", views.report_api, name="readers_report"),
    path("machines/<int:pk>/readers/tokens/new/", views.token_issue, name="readers_token_issue"),
    path("readers/tokens/<int:pk>/revoke/", views.token_revoke, name="readers_token_revoke"),
]
