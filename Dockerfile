# The project's image: every service and the `inspections` command, on Python 3.11.
# Two stages: the first builds a virtual environment (the dependencies in a layer of their
# own, so that a change of the code does not install them again), the second runs it.
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r requirements.txt
COPY README.md ./
COPY kernel ./kernel
COPY schemas ./schemas
COPY runtime ./runtime
COPY services ./services
COPY inspections ./inspections
RUN pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
COPY --from=build /opt/venv /opt/venv
COPY deploy/healthcheck.py /opt/healthcheck.py
RUN useradd --system --uid 10001 --home-dir /var/lib/inspections inspections \
    && mkdir -p /var/lib/inspections /var/lib/inspections-accounts \
    && chown inspections /var/lib/inspections /var/lib/inspections-accounts
ENV PATH=/opt/venv/bin:$PATH \
    INSPECTIONS_HOME=/var/lib/inspections \
    INSPECTIONS_WEB_HOST=0.0.0.0 \
    INSPECTIONS_LOG_FORMAT=json
VOLUME /var/lib/inspections
# Healthy when the container's server answers /healthz (compose asks the workers' readiness).
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=4 \
    CMD ["python", "/opt/healthcheck.py"]
# Not root: the services need no privilege.
USER inspections
ENTRYPOINT ["inspections"]
