"""`python -m baregrad`: the command line (see baregrad/cli.py)."""

from baregrad.cli import main

raise SystemExit(main())
