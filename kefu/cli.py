"""The ``kefu`` console script: Django's management commands with kefu's settings.

``kefu demo``, ``kefu migrate``, ``kefu runserver`` and every other command work from any folder.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kefu", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    main()
