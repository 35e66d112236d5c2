from django.contrib import admin
from django.urls import path

from django_project.notes import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("notes/", views.note_list, name="note-list"),
    path("notes/new/", views.note_new, name="note-new"),
    path("notes/<int:note_id>/", views.note_detail, name="note-detail"),
    path("upload/", views.upload, name="upload"),
    path("stream/", views.stream, name="stream"),
]
