"""The WSGI application, as gunicorn serves it (one import per worker process).

What the process loads before its first request (Django, the apps, the URLs and views)
lives as long as it does, so it is moved out of the cyclic garbage collector's reach
(`gc.freeze`). Otherwise each full collection walks those ~150,000 objects again: about
100 ms, during which every request the worker holds waits.
"""

import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alerts_saas.settings")

application = get_wsgi_application()
import_module(settings.ROOT_URLCONF)  # the views and what they import, now, not on a request
gc.collect()
gc.freeze()
