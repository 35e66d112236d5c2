"""The WSGI entry point, as `startproject` writes it:
python -m fastwsgi django_project.wsgi:application"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_project.settings")

application = get_wsgi_application()
