"""`python -m metrics_server.agents` is the `metrics-server` command (for a checkout without `pip install -e .`)."""
import sys

from metrics_server.agents.cli import main

sys.exit(main())
