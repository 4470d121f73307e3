# kuaike's image: `kuaike run` (capture, warehouse builds, the data service) in one process.
# Build: `make image` (podman, from a local base), or `docker build -t kuaike .`.
# Configuration: KUAIKE_* variables (docs/configuration.md); the data directory is a volume.
ARG BASE_IMAGE=python:3.11-slim

# 1. Build: kuaike and its dependencies in a virtualenv, copied whole into the runtime stage.
FROM ${BASE_IMAGE} AS build
# The package index, when it is not pypi.org (docs/deploy.md, "Building the image"); passed
# with --build-arg, read by pip from the environment.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=180
RUN python3 -m venv /opt/kuaike
# The dependencies first, read from pyproject.toml, so a source change reuses this layer.
COPY pyproject.toml /src/
RUN /opt/kuaike/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' > /src/requirements.txt \
 && /opt/kuaike/bin/pip install --quiet -r /src/requirements.txt
COPY README.md /src/
COPY src /src/src
RUN /opt/kuaike/bin/pip install --quiet --no-deps /src \
 && /opt/kuaike/bin/pip uninstall --quiet --yes pip setuptools
# What no running kuaike reads: C headers, Cython sources, the libraries' own test suites.
RUN cd /opt/kuaike/lib/python3.11/site-packages \
 && rm -rf pyarrow/include pyarrow/src pyarrow/tests numpy/*/tests numpy/_core/include \
 && find . \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.h' \) -delete

# 2. Runtime: the base, tini as PID 1 (signals, zombies), a non-root user, the virtualenv.
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --uid 10001 --user-group --no-log-init --home-dir /var/lib/kuaike --create-home kuaike
COPY --from=build /opt/kuaike /opt/kuaike
ENV PATH=/opt/kuaike/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KUAIKE_DATA_DIR=/var/lib/kuaike \
    KUAIKE_SERVE_PORT=8765
USER kuaike
WORKDIR /var/lib/kuaike
VOLUME ["/var/lib/kuaike"]
EXPOSE 8765
# Asked on 127.0.0.1 inside the container, whatever address the API listens on.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('KUAIKE_SERVE_PORT', '8765') + '/healthz', timeout=4)"]
ENTRYPOINT ["tini", "--", "kuaike"]
CMD ["run"]
