"""`python -m soap_service` runs `highway-server`."""

from soap_service.cli import main

raise SystemExit(main())
