from django import forms

from django_project.notes.models import Note


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["title", "body"]


class UploadForm(forms.Form):
    document = forms.FileField()
