"""``python -m gan_lab``: the ``gan-lab`` command line (see ``gan_lab.cli``)."""

import sys

from gan_lab.cli import main

sys.exit(main())
