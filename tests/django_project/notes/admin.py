from django.contrib import admin

from django_project.notes.models import Note

admin.site.register(Note)
