"""The pages: server-rendered Jinja templates and ECharts, served from the package itself.

Every page calls the query function its JSON twin under /api calls (the live figures, the KPI
report, the console, the pipeline overview) and hands the result to its template; templates only
render, and the page's script refreshes from the same /api route. ECharts and the China map are
copied from web/node_modules into static/vendor by `make assets` (see docs/pages.md).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
