"""The operator dashboard: static files, talks to the API over HTTP only.

``index.html`` and its ES modules are served by the API at ``/``. The map library (MapLibre GL
JS) is installed from npm by ``make`` into ``vendor/``, which is not committed; without it the
page still loads and says how to install it.
"""

__all__: list[str] = []
