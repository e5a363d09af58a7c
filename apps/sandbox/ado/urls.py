from django.urls import path

from apps.sandbox.ado import views

app_name = "ado"

urlpatterns = [
    path("<slug:site>/", views.site_page, name="site_page"),
]
