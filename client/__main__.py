"""`python -m client` runs `highway-client`."""

from client.cli import main

raise SystemExit(main())
