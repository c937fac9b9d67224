"""`python -m olist_elt` is `olist` (child processes of the tests run it without the script)."""

import sys

from olist_elt.cli import main

sys.exit(main())
