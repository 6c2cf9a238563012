# agentload suite image: Locust + the agentload package + the profiles and budgets.
#
# One image, three roles (see docker-compose.yml):
#   reference platform  agentload platform --host 0.0.0.0 --port 3000
#   Locust master       locust -f locustfiles/budgets.py --master ...      (web UI on 8089)
#   Locust worker       locust -f locustfiles/budgets.py --worker --master-host master
# Build: docker build -t agentload .        Help: docker run --rm agentload
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed, unprivileged user: the suite needs no root at run time.
RUN groupadd --system --gid 10001 agentload \
    && useradd --system --uid 10001 --gid agentload --home-dir /app --shell /usr/sbin/nologin agentload

WORKDIR /app

# Dependencies and package first, so edits to locustfiles or budgets reuse this layer.
# README.m[d]: the package's long description; the glob keeps the build working while it is absent.
COPY pyproject.toml README.m[d] ./
COPY src ./src
RUN pip install ".[influx]"

COPY locustfiles ./locustfiles
COPY budgets.yaml ./budgets.yaml
RUN mkdir -p /app/reports && chown agentload:agentload /app/reports

USER agentload

# 8089: Locust web UI (master); 5557: master <-> workers; 3000: the reference platform.
EXPOSE 8089 5557 3000

# One check for the three roles: it finds the platform, master or worker process and probes what
# that role serves (GET /api/health, the worker port, the connection to the master).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["agentload", "healthcheck"]

CMD ["agentload", "--help"]
