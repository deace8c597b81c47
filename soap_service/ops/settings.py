"""Operations settings: logging and metrics."""

from __future__ import annotations

import dataclasses

from soap_service.settings_fields import setting


@dataclasses.dataclass(frozen=True)
class OpsSettings:
    """Where logs and metrics go."""

    log_level: str = setting("INFO", flag="--log-level", help="DEBUG, INFO, WARNING or ERROR")
