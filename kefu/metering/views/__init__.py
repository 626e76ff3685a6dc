"""Metering pages: readings and the analyst's exceptions queue (``readings``); more areas each have
their own module and are wired in ``metering/urls.py``."""
