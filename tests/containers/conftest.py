"""The images, built once per session: kuaike's (from the local base image, which is built
only when podman's storage lacks it) and the PostgreSQL and MariaDB stand-ins."""

from __future__ import annotations

import pytest

from tests.containers.podman import IMAGE, build_database_images, build_image, podman


@pytest.fixture(scope="session")
def kuaike_image() -> str:
    seconds = build_image()
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    print(f"\nbuilt {IMAGE} in {seconds:.1f}s: {size / 1e6:.0f} MB")
    return IMAGE


@pytest.fixture(scope="session")
def database_images() -> None:
    build_database_images()
