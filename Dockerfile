# The project's image: every service and the `inspections` command, on Python 3.11.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY kernel ./kernel
COPY schemas ./schemas
COPY runtime ./runtime
COPY services ./services
COPY inspections ./inspections
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /var/lib/inspections inspections \
    && mkdir -p /var/lib/inspections /var/lib/inspections-accounts \
    && chown inspections /var/lib/inspections /var/lib/inspections-accounts
ENV INSPECTIONS_HOME=/var/lib/inspections \
    INSPECTIONS_WEB_HOST=0.0.0.0 \
    INSPECTIONS_LOG_FORMAT=json
VOLUME /var/lib/inspections
# Not root: the services need no privilege.
USER inspections
ENTRYPOINT ["inspections"]
