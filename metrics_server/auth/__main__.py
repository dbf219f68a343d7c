import sys

from metrics_server.auth.cli import main

sys.exit(main(sys.argv[1:]))
