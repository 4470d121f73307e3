from __future__ import annotations

from kuaike.cli import main

main()
