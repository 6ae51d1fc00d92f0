"""Förskrivningsportalen's composition root: the one module that imports every package."""
from __future__ import annotations

import os

from flask import Flask

from core import config as app_config


def create_app(config: type | None = None, *, testing: bool = False) -> Flask:
    """Create the Flask application; each package plugs itself in with init_app()."""
    # INSTANCE_PATH lets a demo or a browser test keep a whole installation in a folder of its own.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("INSTANCE_PATH") or None)
    app.config.from_object(config or app_config.for_environment(app.instance_path, testing=testing))

    import core
    import reserve
    import status
    import sync
    from app import (
        access, accesslog, admin, demo, drills, messages, mypage, patients, prescribing, products, savedsearches,
        withdrawals,
    )

    core.init_app(app)
    for package in (
        savedsearches, patients, prescribing, products, withdrawals, messages, mypage, access, admin, accesslog,
        demo, status, sync, reserve, drills,
    ):
        package.init_app(app)
    return app
