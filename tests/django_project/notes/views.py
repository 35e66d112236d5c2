"""Views doing what Django sites commonly do: ORM reads and writes, a
ModelForm behind CSRF protection, a file upload, a streamed response."""
import hashlib

from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from django_project.notes.forms import NoteForm, UploadForm
from django_project.notes.models import Note, Upload


def note_as_dict(note):
    return {"id": note.id, "title": note.title, "body": note.body}


def note_list(request):
    notes = Note.objects.order_by("id")
    if "q" in request.GET:
        notes = notes.filter(title__icontains=request.GET["q"])
    return JsonResponse({"notes": [note_as_dict(n) for n in notes]})


def note_detail(request, note_id):
    return JsonResponse(note_as_dict(get_object_or_404(Note, pk=note_id)))


def note_new(request):
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = form.save()
        return redirect("note-detail", note_id=note.id)
    return render(request, "notes/form.html", {"form": form}, status=400 if form.errors else 200)


def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        document = form.cleaned_data["document"]
        digest = hashlib.sha256()
        for chunk in document.chunks():
            digest.update(chunk)
        record = Upload.objects.create(name=document.name, size=document.size,
                                       sha256=digest.hexdigest())
        return JsonResponse({"id": record.id, "name": record.name, "size": record.size,
                             "sha256": record.sha256,
                             "on_disk": hasattr(document, "temporary_file_path")})
    return render(request, "notes/upload.html", {"form": form}, status=400 if form.errors else 200)


def stream(request):
    count = int(request.GET.get("n", "3"))
    return StreamingHttpResponse(("line %d\n" % i for i in range(count)), content_type="text/plain")
