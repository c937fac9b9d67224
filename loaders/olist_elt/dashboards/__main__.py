import sys

from olist_elt.dashboards.build import main

sys.exit(main())
